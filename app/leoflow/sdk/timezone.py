"""`airflow.sdk.timezone`: UTC helpers built on pendulum."""

import datetime as dt

import pendulum

utc = pendulum.UTC
UTC = utc


def utcnow() -> dt.datetime:
    return pendulum.now(utc)


def is_localized(value: dt.datetime) -> bool:
    return value.utcoffset() is not None


def is_naive(value: dt.datetime) -> bool:
    return not is_localized(value)


def make_aware(value: dt.datetime, timezone=None) -> dt.datetime:
    tz = parse_timezone(timezone) if isinstance(timezone, str) else (timezone or utc)
    if is_localized(value):
        raise ValueError(f"make_aware expects a naive datetime, got {value}")
    return pendulum.instance(value.replace(tzinfo=None), tz=tz)


def make_naive(value: dt.datetime, timezone=None) -> dt.datetime:
    tz = timezone or utc
    if is_naive(value):
        raise ValueError("make_naive() cannot be applied to a naive datetime")
    return value.astimezone(tz).replace(tzinfo=None)


def default_timezone():
    """`[core] default_timezone` (`AIRFLOW__CORE__DEFAULT_TIMEZONE`, UTC unless set): the zone a naive
    datetime in a DAG file is read in, as in Airflow."""
    from leoflow.sdk.configuration import conf

    name = str(conf.get("core", "default_timezone", fallback="utc")).strip()
    if name.lower() == "utc":
        return utc
    if name.lower() == "system":
        return pendulum.local_timezone()
    return pendulum.timezone(name)


def convert_to_utc(value):
    """`value` in UTC, as a pendulum DateTime; a naive one is taken to be in the default timezone."""
    if value is None:
        return None
    if is_naive(value):
        value = pendulum.instance(value, tz=default_timezone())
    return pendulum.instance(value.astimezone(utc))


def datetime(*args, tzinfo=None, **kwargs) -> dt.datetime:
    """A datetime in UTC unless a tzinfo is given (naive means UTC, as in Airflow)."""
    kwargs.setdefault("tzinfo", tzinfo or utc)
    return pendulum.instance(dt.datetime(*args, **kwargs))


def parse(text: str, timezone=None) -> dt.datetime:
    return pendulum.parse(text, tz=timezone or utc)


def parse_timezone(name):
    return pendulum.timezone(name)


def coerce_datetime(value, tz=None):
    if value is None:
        return None
    if isinstance(value, dt.datetime) and is_naive(value):
        value = value.replace(tzinfo=tz or utc)
    return pendulum.instance(value)


def local_timezone():
    return pendulum.local_timezone()
