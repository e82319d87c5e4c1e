"""Trigger-time `conf` checked against the DAG's params before a run is created.

Airflow refuses to create a run whose conf breaks a param's JSON schema or
leaves a required param (one without a default) unset. The task runtime checks
every param again with the DAG's own Param objects; this is the early, plain-data
check a trigger (CLI, `dags test`, REST API) can make from the serialized DAG.
"""

from __future__ import annotations


def conf_errors(serialized: dict, conf: dict | None) -> list[str]:
    """Messages naming each param the conf breaks ([] when it is acceptable)."""
    from leoflow.sdk.jsonschema_lite import SchemaError, validate

    conf = conf or {}
    errors = []
    for name, spec in sorted((serialized.get("param_specs") or {}).items()):
        if name in conf:
            value = conf[name]
        elif "default" in spec:
            continue  # the DAG's own default: the DAG file was accepted with it
        else:
            errors.append(f"param {name!r}: no value passed and the param has no default value")
            continue
        try:
            validate(value, spec.get("schema") or {})
        except SchemaError as exc:
            errors.append(f"param {name!r}: {exc}")
    return errors
