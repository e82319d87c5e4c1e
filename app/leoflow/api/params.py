"""Checking a trigger's `conf` against the DAG's params, as Airflow does before creating the run."""

from __future__ import annotations

from ..scheduler.params import conf_errors

# conf_errors words a missing required value its own way; Airflow's Param says this.
_MISSING = "no value passed and the param has no default value"
_AIRFLOW_MISSING = "No value passed and Param has no default value"


def check_conf(serialized: dict, conf: dict | None) -> str | None:
    """None when the conf fits the DAG's `param_specs`; otherwise Airflow's 400 message for the first bad param."""
    for name, spec in (serialized.get("param_specs") or {}).items():
        errors = conf_errors({"param_specs": {name: spec}}, conf)
        if errors:
            reason = errors[0].removeprefix(f"param {name!r}: ")
            if reason == _MISSING:
                reason = _AIRFLOW_MISSING
            return f"Invalid input for param {name}: {reason}"
    return None
