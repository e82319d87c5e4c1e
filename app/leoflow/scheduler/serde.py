"""Airflow's `serde` JSON shapes for the values that cross a deferral: trigger kwargs, next_kwargs, events.

Airflow 3.2's task runner sends trigger kwargs and next_kwargs encoded this way and decodes next_kwargs
on resume, so Leoflow's triggerer writes event payloads the same way: a real Airflow runner and
Leoflow's own read the same bytes. Only the standard library; datetimes come back aware.
"""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

CLASSNAME, VERSION, DATA = "__classname__", "__version__", "__data__"
_DATETIMES = ("datetime.datetime", "pendulum.datetime.DateTime")


def _tz_name(tz) -> str | None:
    if tz is None:
        return None
    for attr in ("key", "name", "zone"):
        name = getattr(tz, attr, None)
        if isinstance(name, str) and name:
            return "UTC" if name in ("+00:00", "UTC", "Etc/UTC") else name
    return "UTC" if tz.utcoffset(None) == dt.timedelta(0) else None


def encode(value: Any) -> Any:
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, tuple):
        return {CLASSNAME: "builtins.tuple", VERSION: 1, DATA: [encode(v) for v in value]}
    if isinstance(value, dt.datetime):
        name = _tz_name(value.tzinfo)
        tz = None if name is None else {CLASSNAME: "builtins.tuple", VERSION: 1,
                                        DATA: [name, "pendulum.tz.timezone.Timezone" if name != "UTC"
                                               else "pendulum.tz.timezone.FixedTimezone", 1, True]}
        cls = "pendulum.datetime.DateTime" if type(value).__module__.startswith("pendulum") else "datetime.datetime"
        return {CLASSNAME: cls, VERSION: 2, DATA: {"timestamp": value.timestamp(), "tz": tz}}
    if isinstance(value, dt.date):
        return {CLASSNAME: "datetime.date", VERSION: 2, DATA: value.isoformat()}
    if isinstance(value, dt.timedelta):
        return {CLASSNAME: "datetime.timedelta", VERSION: 2, DATA: value.total_seconds()}
    if isinstance(value, (set, frozenset)):
        return {CLASSNAME: "builtins.set", VERSION: 1, DATA: [encode(v) for v in value]}
    if isinstance(value, decimal.Decimal):  # what SQL hooks return for NUMERIC; a whole one as an int
        exponent = value.as_tuple().exponent
        whole = isinstance(exponent, int) and exponent >= 0
        return {CLASSNAME: "decimal.Decimal", VERSION: 1, DATA: int(value) if whole else float(value)}
    raise TypeError(f"cannot encode a {type(value).__name__} for a deferral (use JSON types or datetimes)")


def _zone(name):
    if name in (None, ""):
        return None
    if name == "UTC" or name == 0:
        return dt.timezone.utc
    if isinstance(name, (int, float)):
        return dt.timezone(dt.timedelta(seconds=name))
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(name)
    except Exception:
        return dt.timezone.utc


def decode(value: Any) -> Any:
    """Inverse of `encode`; also reads Airflow's older `{"__type", "__var"}` shapes for datetimes."""
    if isinstance(value, list):
        return [decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if CLASSNAME in value:
        cls, data = value[CLASSNAME], decode(value.get(DATA))
        if cls in _DATETIMES and isinstance(data, dict):
            tz = data.get("tz")
            zone = _zone(tz[0] if isinstance(tz, (list, tuple)) else tz) or dt.timezone.utc
            when = dt.datetime.fromtimestamp(float(data["timestamp"]), tz=zone)
            if cls.startswith("pendulum"):
                try:
                    import pendulum

                    return pendulum.instance(when)
                except ImportError:
                    pass
            return when
        if cls == "datetime.date":
            return dt.date.fromisoformat(data)
        if cls == "datetime.timedelta":
            return dt.timedelta(seconds=float(data))
        if cls == "builtins.tuple":
            return tuple(data)
        if cls in ("builtins.set", "builtins.frozenset"):
            return set(data)
        if cls == "decimal.Decimal":
            return decimal.Decimal(str(data))
        return data
    if "__type" in value and "__var" in value:
        kind, var = value["__type"], value["__var"]
        if kind == "datetime":
            return dt.datetime.fromtimestamp(float(var), tz=dt.timezone.utc)
        if kind == "timedelta":
            return dt.timedelta(seconds=float(var))
        if kind == "dict":
            return {k: decode(v) for k, v in var.items()}
        return decode(var)
    return {k: decode(v) for k, v in value.items()}
