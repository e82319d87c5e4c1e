"""Column types that behave the same on SQLite and Postgres."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy.types import DateTime, Text, TypeDecorator


class UtcDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes in, aware UTC datetimes out.

    SQLite keeps no zone, Postgres keeps it; both give back aware UTC values.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if not isinstance(value, dt.datetime):
            raise TypeError(f"expected a datetime, got {value!r}")
        if value.tzinfo is None:
            raise ValueError("naive datetime given; Leoflow stores UTC-aware datetimes only")
        value = value.astimezone(dt.timezone.utc)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


class JsonText(TypeDecorator):
    """JSON kept as text: the same bytes on both databases, no dialect JSON quirks."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return json.dumps(value, separators=(",", ":"), default=str)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return json.loads(value)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)
