"""DAG and task params: named values with defaults, overridable by run conf."""

from __future__ import annotations

import copy
from collections.abc import MutableMapping
from typing import Any

from leoflow.sdk.exceptions import ParamValidationError


class _NoValue:
    def __repr__(self) -> str:
        return "NOTSET"

    def __bool__(self) -> bool:
        return False


NOTSET = _NoValue()

class Param:
    """A param's default plus its JSON-schema-like description."""

    def __init__(self, default: Any = NOTSET, description: str | None = None, **schema: Any):
        self.value = default
        self.description = description
        self.schema = schema

    def __repr__(self) -> str:
        return f"Param({self.value!r})"

    def has_value(self) -> bool:
        return self.value is not NOTSET

    def resolve(self, value: Any = NOTSET, suppress_exception: bool = False) -> Any:
        """The final value after JSON-schema validation (Airflow's rules)."""
        from leoflow.sdk.jsonschema_lite import SchemaError, validate

        final = self.value if value is NOTSET else value
        if final is NOTSET:
            if suppress_exception:
                return None
            raise ParamValidationError("No value passed and Param has no default value")
        try:
            validate(final, self.schema)
        except SchemaError as exc:
            if suppress_exception:
                return None
            raise ParamValidationError(str(exc)) from None
        if value is not NOTSET:
            self.value = final
        return final

    def serialize(self) -> dict:
        return {"value": None if self.value is NOTSET else self.value, "description": self.description,
                "schema": self.schema}

    def dump(self) -> dict:
        return {"value": None if self.value is NOTSET else self.value,
                "description": self.description, "schema": self.schema}


class ParamsDict(MutableMapping):
    """name -> Param; reading an item gives the param's value, like Airflow."""

    def __init__(self, values: dict | None = None):
        self._params: dict[str, Param] = {}
        for key, value in (values or {}).items():
            self[key] = value

    def __setitem__(self, key: str, value: Any) -> None:
        if isinstance(value, Param):
            self._params[key] = value
        elif key in self._params:
            self._params[key].value = value
        else:
            self._params[key] = Param(value)

    def __getitem__(self, key: str) -> Any:
        return self._params[key].resolve(suppress_exception=True)

    def __delitem__(self, key: str) -> None:
        del self._params[key]

    def __iter__(self):
        return iter(self._params)

    def __len__(self) -> int:
        return len(self._params)

    def __repr__(self) -> str:
        return repr(self.dump())

    def __copy__(self) -> "ParamsDict":
        new = ParamsDict()
        new._params = {k: copy.copy(v) for k, v in self._params.items()}
        return new

    def get_param(self, key: str) -> Param:
        return self._params[key]

    def items_params(self):
        return self._params.items()

    def dump(self) -> dict:
        return {k: p.resolve(suppress_exception=True) for k, p in self._params.items()}

    def validate(self) -> dict:
        """Every param's value, or ParamValidationError naming the first bad one."""
        out = {}
        for k, p in self._params.items():
            try:
                out[k] = p.resolve()
            except ParamValidationError as exc:
                raise ParamValidationError(f"Invalid input for param {k}: {exc}") from None
        return out


class DagParam:
    """`dag.param("name")`: the run's value of a DAG param (conf wins over the default)."""

    def __init__(self, dag, name: str, default: Any = None):
        self.dag = dag
        self.name = name
        self.default = default
        dag.params.setdefault(name, default)

    def __repr__(self) -> str:
        return f"DagParam({self.name!r})"

    def resolve(self, context) -> Any:
        params = context.get("params") or {}
        if self.name in params:
            return params[self.name]
        return self.default
