"""When a scheduled DAG runs next: plain functions over the serialized `schedule`.

Airflow 3 semantics: cron strings and presets are trigger timetables (the
logical date is the tick itself, the data interval is that single point);
`timedelta` schedules likewise; `@once` runs once at the start date;
`catchup=False` (the default) skips missed ticks but still runs the latest one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

UTC = dt.timezone.utc


@dataclass(frozen=True)
class NextRun:
    logical_date: dt.datetime
    run_after: dt.datetime
    data_interval: tuple[dt.datetime, dt.datetime]


def _parse(value):
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(value)


def _cron_next(expr: str, after: dt.datetime, inclusive: bool) -> dt.datetime:
    from croniter import croniter

    start = after - dt.timedelta(microseconds=1) if inclusive else after
    return croniter(expr, start.astimezone(UTC)).get_next(dt.datetime).astimezone(UTC)


def _cron_prev(expr: str, before: dt.datetime) -> dt.datetime:
    from croniter import croniter

    return croniter(expr, before.astimezone(UTC) + dt.timedelta(microseconds=1)).get_prev(dt.datetime).astimezone(UTC)


def next_run(serialized: dict, last_logical_date: dt.datetime | None, now: dt.datetime) -> NextRun | None:
    """The next run to create after `last_logical_date` (None: no scheduled run yet)."""
    schedule = serialized.get("schedule") or {"kind": "none"}
    kind = schedule.get("kind", "none")
    start = _parse(serialized.get("start_date"))
    end = _parse(serialized.get("end_date"))
    catchup = bool(serialized.get("catchup"))
    if kind in ("none", "continuous", "asset") or start is None and kind != "cron":
        return None

    if kind == "once":
        if last_logical_date is not None:
            return None
        when = start
    elif kind == "cron":
        expr = schedule["value"]
        if last_logical_date is not None:
            when = _cron_next(expr, last_logical_date, inclusive=False)
        else:
            when = _cron_next(expr, start or now, inclusive=True)
        if not catchup:
            latest = _cron_prev(expr, now)
            if latest > when and (start is None or latest >= start):
                when = latest
    elif kind == "timedelta":
        delta = dt.timedelta(seconds=float(schedule["value"]))
        if last_logical_date is not None:
            when = last_logical_date + delta
        else:
            when = start
        if not catchup and when + delta <= now:
            # Skip to the latest point that is due, keeping the start date's alignment.
            steps = int((now - when) / delta)
            when = when + steps * delta
    else:
        return None

    if end is not None and when > end:
        return None
    return NextRun(logical_date=when, run_after=when, data_interval=(when, when))
