"""`Variable.get` / `Variable.set`: key-value settings kept by the server.

A lookup reads the environment first (`AIRFLOW_VAR_<KEY>`, see secrets_env), then the server, as
Airflow 3.2 does. A variable found nowhere is Airflow's `AirflowRuntimeError` (VARIABLE_NOT_FOUND)
unless a default is given.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from leoflow.sdk.comms import get_comms, has_comms
from leoflow.sdk.exceptions import AirflowNotFoundException, AirflowRuntimeError, variable_not_found

_NOTHING = object()


class Variable:
    def __init__(self, key: str | None = None, val: Any = None, description: str | None = None):
        self.key = key
        self.val = val
        self.description = description

    @classmethod
    def get(cls, key: str, default: Any = _NOTHING, deserialize_json: bool = False) -> Any:
        return _get(key, default, deserialize_json)

    @classmethod
    def set(cls, key: str, value: Any, description: str | None = None, serialize_json: bool = False) -> None:
        _set(key, value, description, serialize_json)

    @classmethod
    def delete(cls, key: str) -> None:
        deleter = getattr(get_comms(), "delete_variable", None)
        if deleter is None:
            raise NotImplementedError("Leoflow does not support Variable.delete from tasks yet")
        deleter(key)


def _get(key: str, default: Any, deserialize_json: bool) -> Any:
    from leoflow.sdk import secrets_env

    value = secrets_env.variable(key)
    if value is not None:
        _mask(key, value)  # the runner masks what it reads from the server; this did not pass through it
    elif has_comms() or default is _NOTHING:
        # Without a server (a DAG file run by hand) a default still answers; without one, get_comms says why.
        value = get_comms().get_variable(key)
    if value is None:
        if default is _NOTHING:
            raise variable_not_found(key)
        _mask(key, default)
        return default
    return json.loads(value) if deserialize_json else value


def _set(key: str, value: Any, description: str | None, serialize_json: bool) -> None:
    from leoflow.sdk import secrets_env

    setter = getattr(get_comms(), "set_variable", None)
    if setter is None:
        raise NotImplementedError("Leoflow does not support Variable.set from tasks yet")
    if secrets_env.variable(key) is not None:
        logging.getLogger(__name__).warning(
            "The variable %s is also defined by the environment variable %s%s, which takes precedence: the "
            "server's value is updated, but reading it gives the environment's", key, secrets_env.VAR_PREFIX,
            key.upper())
    setter(key, json.dumps(value) if serialize_json else str(value), description)


def _mask(key: str, value: Any) -> None:
    from leoflow.secrets import masker

    masker.mask_variable(key, value)


class VariableAccessor:
    """`{{ var.value.name }}` / `{{ var.json.name }}` in templates."""

    def __init__(self, deserialize_json: bool):
        self._json = deserialize_json

    def __getattr__(self, key: str) -> Any:
        if key.startswith("__"):
            raise AttributeError(key)
        return Variable.get(key, deserialize_json=self._json)

    def get(self, key: str, default: Any = _NOTHING) -> Any:
        return Variable.get(key, default=default, deserialize_json=self._json)

    def __repr__(self) -> str:
        return f"<VariableAccessor json={self._json}>"


__all__ = ["Variable", "VariableAccessor", "AirflowNotFoundException", "AirflowRuntimeError"]
