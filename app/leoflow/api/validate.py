"""Checking query strings and JSON bodies, reporting every bad field the way pydantic does.

A checker collects errors while handlers read values, then `done()` raises one
422 naming all of them, so a client sees each problem at once.
"""

from __future__ import annotations

import datetime as dt
import json
import math

from .errors import ValidationFailed, invalid

_TRUE = {"1", "on", "t", "true", "y", "yes"}
_FALSE = {"0", "off", "f", "false", "n", "no"}
# Integers the databases store (BIGINT): a larger one is a 422 naming the field, never a driver error.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_MAX_TEXT_ERRORS = 10  # a body full of bad strings gets a short answer


def parse_datetime(value: str) -> dt.datetime:
    # pydantic accepts a trailing "z" too; fromisoformat (3.11) handles both.
    return dt.datetime.fromisoformat(value.strip())


class _Checker:
    where = "query"

    def __init__(self):
        self.errors: list[dict] = []

    def fail(self, name, msg, input_, type_, ctx=None):
        self.errors.append(invalid([self.where, name], msg, input_, type_, ctx))

    def done(self) -> None:
        if self.errors:
            raise ValidationFailed(self.errors)

    def _int64(self, name, value: int, raw) -> bool:
        """Whether `value` fits a BIGINT column; else the error is recorded."""
        problem = int64_problem(value, raw)
        if problem:
            self.fail(name, *problem)
        return problem is None

    def _datetime(self, name, raw, *, aware: bool):
        if raw is None:
            return None
        if isinstance(raw, dt.datetime):
            value = raw
        else:
            if not isinstance(raw, str):
                self.fail(name, "Input should be a valid datetime", raw, "datetime_type")
                return None
            try:
                value = parse_datetime(raw)
            except ValueError:
                self.fail(name, "Input should be a valid datetime or date, invalid character in year",
                          raw, "datetime_from_date_parsing")
                return None
        if value.tzinfo is None:
            if aware:
                self.fail(name, "Input should have timezone info", raw, "timezone_aware")
                return None
            value = value.replace(tzinfo=dt.UTC)  # naive query values mean UTC
        try:
            return value.astimezone(dt.UTC)
        except OverflowError:  # 0001-01-01T00:00+01:00 is in year 0 in UTC
            self.fail(name, "Input should be a valid datetime, the date is out of range in UTC", raw,
                      "datetime_parsing", {"error": "date out of range"})
            return None


def int64_problem(value: int, raw) -> tuple | None:
    """None when `value` fits a BIGINT; else pydantic's bound error for it: (msg, input, type, ctx)."""
    if value > INT64_MAX:
        return f"Input should be less than or equal to {INT64_MAX}", raw, "less_than_equal", {"le": INT64_MAX}
    if value < INT64_MIN:
        return f"Input should be greater than or equal to {INT64_MIN}", raw, "greater_than_equal", {"ge": INT64_MIN}
    return None


def path_int(request, name: str, *, ge: int | None = None) -> int:
    """An integer path parameter (an id, a map index, a try or version number), or a 422 naming it."""
    raw = request.path_params[name]
    try:
        value = int(raw)
    except ValueError:
        raise ValidationFailed([invalid(["path", name], "Input should be a valid integer, unable to parse string "
                                        "as an integer", raw, "int_parsing")]) from None
    problem = int64_problem(value, raw)
    if problem:
        raise ValidationFailed([invalid(["path", name], *problem)])
    if ge is not None and value < ge:
        raise ValidationFailed([invalid(["path", name], f"Input should be greater than or equal to {ge}", raw,
                                        "greater_than_equal", {"ge": ge})])
    return value


def maximum_page_limit(request) -> int:
    services = getattr(getattr(request.app, "state", None), "services", None) if "app" in request.scope else None
    return getattr(getattr(services, "settings", None), "maximum_page_limit", DEFAULT_MAXIMUM_PAGE_LIMIT)


DEFAULT_MAXIMUM_PAGE_LIMIT = 100


class Query(_Checker):
    """Query-string parameters of one request."""

    def __init__(self, request):
        super().__init__()
        self.params = request.query_params
        self.request = request

    def has(self, name: str) -> bool:
        return name in self.params

    def str(self, name: str, default=None):
        return self.params.get(name, default)

    def list(self, name: str) -> list[str]:
        return self.params.getlist(name)

    def int(self, name: str, default=None, *, ge: int | None = None):
        raw = self.params.get(name)
        if raw is None:
            return default
        try:
            value = int(raw.strip())
        except ValueError:
            self.fail(name, "Input should be a valid integer, unable to parse string as an integer",
                      raw, "int_parsing")
            return default
        if not self._int64(name, value, raw):
            return default
        if ge is not None and value < ge:
            self.fail(name, f"Input should be greater than or equal to {ge}", raw,
                      "greater_than_equal", {"ge": ge})
            return default
        return value

    def float(self, name: str, default=None):
        raw = self.params.get(name)
        if raw is None:
            return default
        try:
            return float(raw)
        except ValueError:
            self.fail(name, "Input should be a valid number, unable to parse string as a number",
                      raw, "float_parsing")
            return default

    def bool(self, name: str, default=None):
        raw = self.params.get(name)
        if raw is None:
            return default
        low = raw.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        self.fail(name, "Input should be a valid boolean, unable to interpret input", raw, "bool_parsing")
        return default

    def datetime(self, name: str):
        return self._datetime(name, self.params.get(name), aware=False)

    def paging(self) -> tuple[int, int]:
        """limit (capped at the `maximum_page_limit` setting, as Airflow caps it) and offset."""
        return min(self.int("limit", 50, ge=0), maximum_page_limit(self.request)), self.int("offset", 0, ge=0)


class Body(_Checker):
    """A JSON object body checked against the fields a model allows (extra fields are refused)."""

    where = "body"

    def __init__(self, data, *, allowed: set[str], required: set[str] = frozenset()):
        super().__init__()
        self.data = data if isinstance(data, dict) else {}
        if not isinstance(data, dict):
            self.errors.append(invalid(["body"], "Input should be a valid dictionary or object to extract fields from",
                                       data, "model_attributes_type"))
            return
        for name in sorted(required - set(data)):
            self.fail(name, "Field required", data, "missing")
        for name in data:
            if name not in allowed:
                self.fail(name, "Extra inputs are not permitted", data[name], "extra_forbidden")

    def str(self, name: str, *, nullable: bool = True, max_length: int | None = None):
        value = self.data.get(name)
        if value is None and nullable:
            return None
        if not isinstance(value, str):
            self.fail(name, "Input should be a valid string", value, "string_type")
            return None
        if max_length is not None and len(value) > max_length:
            self.fail(name, f"String should have at most {max_length} characters", value, "string_too_long",
                      {"max_length": max_length})
            return None
        return value

    def dict(self, name: str):
        value = self.data.get(name)
        if value is None:
            return None
        if not isinstance(value, dict):
            self.fail(name, "Input should be a valid dictionary", value, "dict_type")
            return None
        return value

    def bool(self, name: str):
        value = self.data.get(name)
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        if name in self.data:
            self.fail(name, "Input should be a valid boolean", value, "bool_type")
        return None

    def datetime(self, name: str):
        return self._datetime(name, self.data.get(name), aware=True)

    def int(self, name: str, default=None, *, ge: int | None = None):
        value = self.data.get(name)
        if value is None:
            return default
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(name, "Input should be a valid integer", value, "int_type")
            return default
        if not self._int64(name, value, value):
            return default
        if ge is not None and value < ge:
            self.fail(name, f"Input should be greater than or equal to {ge}", value, "greater_than_equal", {"ge": ge})
            return default
        return value

    def number(self, name: str):
        value = self.data.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(name, "Input should be a valid number", value, "float_type")
            return None
        return float(value)

    def flag(self, name: str, default: bool) -> bool:
        """A boolean field with a default (`bool` gives None when absent)."""
        value = self.bool(name)
        return default if value is None else value

    def str_list(self, name: str, *, choices=None, nullable_items: bool = False):
        """A list of strings (None when absent); `choices` restricts the items like an enum."""
        value = self.data.get(name)
        if value is None:
            return None
        if not isinstance(value, list):
            self.fail(name, "Input should be a valid list", value, "list_type")
            return None
        for i, item in enumerate(value):
            if item is None and nullable_items:
                continue
            if not isinstance(item, str):
                self.errors.append(invalid([self.where, name, i], "Input should be a valid string", item,
                                           "string_type"))
            elif choices is not None and item not in choices:
                expected = ", ".join(f"'{c}'" for c in choices[:-1]) + f" or '{choices[-1]}'"
                self.errors.append(invalid([self.where, name, i], f"Input should be {expected}", item, "enum",
                                           {"expected": expected}))
        return value

    def choice(self, name: str, choices):
        """A string field restricted to `choices` (None when absent or null)."""
        value = self.data.get(name)
        if value is None:
            return None
        if value not in choices:
            expected = ", ".join(f"'{c}'" for c in choices[:-1]) + f" or '{choices[-1]}'"
            self.fail(name, f"Input should be {expected}", value, "enum", {"expected": expected})
            return None
        return value


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999: no database or JSON answer can hold it
        raise ValueError(f"{text} is out of the range of a JSON number")
    return value


def json_body(request):
    """The decoded JSON body, or a 422 like FastAPI's for bodies that are not JSON.

    Strict where Python's decoder is lenient: NaN and Infinity (and 1e999) are refused, as is nesting
    beyond what the decoder can hold, and every string is checked for what no text column stores
    (`text_problems`). The route wrapper has already read the body (handlers run in a thread).
    """
    raw = request.state.body
    if not raw.strip():
        raise ValidationFailed([invalid(["body"], "Field required", None, "missing")])
    try:
        data = json.loads(raw, parse_constant=_no_constant, parse_float=_finite_float)
    except RecursionError:
        raise ValidationFailed([invalid(["body"], "JSON decode error", {}, "json_invalid",
                                        {"error": "the JSON document is nested too deeply"})]) from None
    except ValueError as exc:
        pos = getattr(exc, "pos", 0)
        raise ValidationFailed([invalid(["body", pos], "JSON decode error", {}, "json_invalid",
                                        {"error": getattr(exc, "msg", str(exc))})]) from None
    errors = text_problems(data, ["body"])
    if errors:
        raise ValidationFailed(errors)
    return data


def text_error(value: str, loc: list) -> dict | None:
    """The error for a string no text column can store: a NUL character (Postgres refuses it) or a lone
    surrogate (not encodable as UTF-8); None for a good string."""
    if "\x00" in value:
        return invalid(loc, "String should not contain the NUL character", value, "string_nul")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return invalid(loc, "Input should be a valid string, unable to parse raw data as a unicode string",
                       value.encode("utf-8", "backslashreplace").decode("ascii"), "string_unicode")
    return None


def text_problems(data, loc: list) -> list[dict]:
    """`text_error` for every string (keys too) of a decoded JSON document, at its location."""
    errors = []
    stack = [(data, loc)]
    while stack and len(errors) < _MAX_TEXT_ERRORS:
        value, where = stack.pop()
        if isinstance(value, str):
            if (error := text_error(value, where)) is not None:
                errors.append(error)
        elif isinstance(value, dict):
            for key, item in value.items():
                if (error := text_error(key, [*where, key])) is not None:
                    error["loc"] = [*where, error["input"]]
                    errors.append(error)
                    continue
                stack.append((item, [*where, key]))
        elif isinstance(value, list):
            stack.extend((item, [*where, i]) for i, item in enumerate(value))
    return errors


def check_request_text(request) -> None:
    """A 422 for a path or query parameter holding what no text column stores (see `text_error`)."""
    errors = []
    for where, params in (("path", request.path_params.items()), ("query", request.query_params.multi_items())):
        for name, value in params:
            if isinstance(value, str) and (error := text_error(value, [where, name])) is not None:
                errors.append(error)
    if errors:
        raise ValidationFailed(errors[:_MAX_TEXT_ERRORS])
