"""JSON Schema (draft 7 subset) validation for Params, without third-party packages.

Covers what Param schemas use: type, enum, const, numeric and length bounds,
pattern, format (date, date-time, time, email), items/array bounds,
properties/required/additionalProperties, anyOf/oneOf/allOf/not. Keywords it
does not know (title, description, values_display, section, ...) are ignored,
as a validator must. Messages follow the `jsonschema` package's wording.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any


class SchemaError(ValueError):
    """The value does not satisfy the schema (message says where and why)."""


_TYPES = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool) or (isinstance(v, float) and v.is_integer()),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, (list, tuple)),
    "object": lambda v: isinstance(v, dict),
    "null": lambda v: v is None,
}


def _format_ok(fmt: str, value: Any) -> bool:
    if not isinstance(value, str):
        return True
    try:
        if fmt == "date":
            dt.date.fromisoformat(value)
        elif fmt == "date-time":
            if "T" not in value.upper() and " " not in value:
                return False
            dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        elif fmt == "time":
            dt.time.fromisoformat(value.replace("Z", "+00:00"))
        elif fmt == "email":
            return "@" in value
    except ValueError:
        return False
    return True


def _eq(a: Any, b: Any) -> bool:
    # JSON equality: 1 == 1.0, but True != 1.
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b


def validate(value: Any, schema: dict, path: str = "") -> None:
    """Raise SchemaError when `value` does not satisfy `schema`."""
    if schema is True or not schema:
        return
    if schema is False:
        raise SchemaError(f"{value!r} is not allowed{path}")
    where = f" (at {path})" if path else ""
    kinds = schema.get("type")
    if kinds is not None:
        names = kinds if isinstance(kinds, list) else [kinds]
        if not any(_TYPES.get(k, lambda v: True)(value) for k in names):
            shown = repr(kinds) if isinstance(kinds, str) else repr(names)
            raise SchemaError(f"{value!r} is not of type {shown}{where}")
    if "enum" in schema and not any(_eq(value, e) for e in schema["enum"]):
        raise SchemaError(f"{value!r} is not one of {schema['enum']!r}{where}")
    if "const" in schema and not _eq(value, schema["const"]):
        raise SchemaError(f"{schema['const']!r} was expected{where}")
    if _TYPES["number"](value):
        if "minimum" in schema and value < schema["minimum"]:
            raise SchemaError(f"{value!r} is less than the minimum of {schema['minimum']!r}{where}")
        if "maximum" in schema and value > schema["maximum"]:
            raise SchemaError(f"{value!r} is greater than the maximum of {schema['maximum']!r}{where}")
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            raise SchemaError(f"{value!r} is less than or equal to the minimum of {schema['exclusiveMinimum']!r}{where}")
        if "exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"]:
            raise SchemaError(f"{value!r} is greater than or equal to the maximum of {schema['exclusiveMaximum']!r}{where}")
        step = schema.get("multipleOf")
        if step and not math.isclose(value / step, round(value / step)):
            raise SchemaError(f"{value!r} is not a multiple of {step!r}{where}")
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            raise SchemaError(f"{value!r} is too short{where}")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            raise SchemaError(f"{value!r} is too long{where}")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            raise SchemaError(f"{value!r} does not match {schema['pattern']!r}{where}")
        if "format" in schema and not _format_ok(schema["format"], value):
            raise SchemaError(f"{value!r} is not a {schema['format']!r}{where}")
    if isinstance(value, (list, tuple)):
        if "minItems" in schema and len(value) < schema["minItems"]:
            raise SchemaError(f"{list(value)!r} should be non-empty{where}" if schema["minItems"] == 1
                              else f"{list(value)!r} is too short{where}")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            raise SchemaError(f"{list(value)!r} is too long{where}")
        if schema.get("uniqueItems"):
            seen: list = []
            for item in value:
                if any(_eq(item, s) for s in seen):
                    raise SchemaError(f"{list(value)!r} has non-unique elements{where}")
                seen.append(item)
        items = schema.get("items")
        if isinstance(items, dict):
            for i, item in enumerate(value):
                validate(item, items, f"{path}[{i}]")
        elif isinstance(items, list):
            for i, (item, sub) in enumerate(zip(value, items)):
                validate(item, sub, f"{path}[{i}]")
    if isinstance(value, dict):
        for name in schema.get("required", []):
            if name not in value:
                raise SchemaError(f"{name!r} is a required property{where}")
        props = schema.get("properties", {})
        for name, sub in props.items():
            if name in value:
                validate(value[name], sub, f"{path}.{name}" if path else name)
        extra = schema.get("additionalProperties", True)
        others = [k for k in value if k not in props]
        if extra is False and others:
            raise SchemaError(f"Additional properties are not allowed ({', '.join(map(repr, others))} "
                              f"{'was' if len(others) == 1 else 'were'} unexpected){where}")
        if isinstance(extra, dict):
            for k in others:
                validate(value[k], extra, f"{path}.{k}" if path else k)
        if "minProperties" in schema and len(value) < schema["minProperties"]:
            raise SchemaError(f"{value!r} does not have enough properties{where}")
        if "maxProperties" in schema and len(value) > schema["maxProperties"]:
            raise SchemaError(f"{value!r} has too many properties{where}")
    if "allOf" in schema:
        for sub in schema["allOf"]:
            validate(value, sub, path)
    if "anyOf" in schema and not any(_passes(value, sub) for sub in schema["anyOf"]):
        raise SchemaError(f"{value!r} is not valid under any of the given schemas{where}")
    if "oneOf" in schema:
        passing = sum(_passes(value, sub) for sub in schema["oneOf"])
        if passing != 1:
            raise SchemaError(f"{value!r} is not valid under any of the given schemas{where}" if passing == 0
                              else f"{value!r} is valid under each of the given schemas{where}")
    if "not" in schema and _passes(value, schema["not"]):
        raise SchemaError(f"{value!r} should not be valid under {schema['not']!r}{where}")


def _passes(value: Any, schema: dict) -> bool:
    try:
        validate(value, schema)
        return True
    except SchemaError:
        return False
