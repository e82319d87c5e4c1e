"""`airflow.models.Variable` (the Airflow 2 path): the same lookups with Airflow 2's keywords.

Airflow 3.2 still accepts `Variable.get(key, default_var=...)` there (and `setdefault`), while
`airflow.sdk.Variable.get` takes `default=`; each path keeps its own signature.
"""

from __future__ import annotations

from typing import Any

from leoflow.sdk import variable as _sdk

_NOTHING = _sdk._NOTHING


class Variable(_sdk.Variable):
    @classmethod
    def get(cls, key: str, default_var: Any = _NOTHING, deserialize_json: bool = False,
            team_name: str | None = None) -> Any:
        return _sdk._get(key, default_var, deserialize_json)

    @classmethod
    def set(cls, key: str, value: Any, description: str | None = None, serialize_json: bool = False,
            team_name: str | None = None, session: Any = None) -> None:
        _sdk._set(key, value, description, serialize_json)

    @classmethod
    def setdefault(cls, key: str, default: Any, description: str | None = None,
                   deserialize_json: bool = False) -> Any:
        """The variable's value; when it does not exist, `default` is stored and returned."""
        value = cls.get(key, default_var=None, deserialize_json=deserialize_json)
        if value is not None:
            return value
        if default is None:
            raise ValueError("Default Value must be set")
        cls.set(key, default, description=description, serialize_json=deserialize_json)
        return default


__all__ = ["Variable"]
