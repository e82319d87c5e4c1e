"""Checking a trigger's `conf` against the DAG's params, as Airflow does before creating the run."""

from __future__ import annotations

from ..sdk.params import Param, ParamValidationError
from .serializers import param_spec


def _schema_of(spec) -> tuple[object, dict] | None:
    """(default, schema) of a serialized param that carries a schema, else None."""
    value, _description, schema, _source = param_spec(spec)
    return (value, schema) if schema else None


def check_conf(dag_params: dict, conf: dict) -> str | None:
    """None when the conf fits; otherwise the message Airflow gives (a 400)."""
    for name, spec in dag_params.items():
        found = _schema_of(spec)
        if found is None:
            continue
        default, schema = found
        param = Param(default, **schema)
        try:
            param.resolve(conf[name] if name in conf else param.value, suppress_exception=False)
        except ParamValidationError as exc:
            return str(exc).replace("Invalid input for param:", f"Invalid input for param {name}:") \
                if "Invalid input for param:" in str(exc) else f"Invalid input for param {name}: {exc}"
    return None
