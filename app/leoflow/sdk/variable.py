"""`Variable.get` / `Variable.set`: key-value settings kept by the server."""

from __future__ import annotations

import json
from typing import Any

from leoflow.sdk.comms import get_comms
from leoflow.sdk.exceptions import AirflowNotFoundException

_NOTHING = object()


class Variable:
    def __init__(self, key: str | None = None, val: Any = None, description: str | None = None):
        self.key = key
        self.val = val
        self.description = description

    @classmethod
    def get(cls, key: str, default: Any = _NOTHING, deserialize_json: bool = False) -> Any:
        value = get_comms().get_variable(key)
        if value is None:
            if default is _NOTHING:
                raise KeyError(f"Variable {key} does not exist")
            return default
        return json.loads(value) if deserialize_json else value

    @classmethod
    def set(cls, key: str, value: Any, description: str | None = None, serialize_json: bool = False) -> None:
        setter = getattr(get_comms(), "set_variable", None)
        if setter is None:
            raise NotImplementedError("Leoflow does not support Variable.set from tasks yet")
        setter(key, json.dumps(value) if serialize_json else str(value), description)

    @classmethod
    def delete(cls, key: str) -> None:
        deleter = getattr(get_comms(), "delete_variable", None)
        if deleter is None:
            raise NotImplementedError("Leoflow does not support Variable.delete from tasks yet")
        deleter(key)


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


__all__ = ["Variable", "VariableAccessor", "AirflowNotFoundException"]
