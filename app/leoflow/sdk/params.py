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

_JSON_TYPES = {
    "string": str, "integer": int, "number": (int, float), "boolean": bool,
    "array": (list, tuple), "object": dict, "null": type(None),
}


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
        # Only type/enum checks; full JSON-schema validation is a later milestone.
        final = self.value if value is NOTSET else value
        if final is NOTSET:
            if suppress_exception:
                return None
            raise ParamValidationError("No value passed and Param has no default value")
        kinds = self.schema.get("type")
        if kinds is not None and not suppress_exception and not _type_ok(final, kinds):
            raise ParamValidationError(f"Invalid input for param: {final!r} is not of type {kinds}")
        enum = self.schema.get("enum")
        if enum is not None and final not in enum and not suppress_exception:
            raise ParamValidationError(f"Invalid input for param: {final!r} is not one of {enum}")
        return final

    def dump(self) -> dict:
        return {"value": None if self.value is NOTSET else self.value,
                "description": self.description, "schema": self.schema}


def _type_ok(value, kinds) -> bool:
    kinds = kinds if isinstance(kinds, list) else [kinds]
    for kind in kinds:
        expected = _JSON_TYPES.get(kind)
        if expected is None:
            return True  # a type we do not check
        if isinstance(value, bool) and kind in ("integer", "number"):
            continue  # JSON schema: true is not a number
        if isinstance(value, expected):
            return True
    return False


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
        return {k: p.resolve() for k, p in self._params.items()}
