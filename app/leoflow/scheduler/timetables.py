"""When a scheduled DAG runs next: plain functions over the serialized `schedule`.

Airflow 3.2 semantics, per schedule kind (docs/serialized-dag.md):

- trigger timetables (`cron` strings and presets, `cron_trigger`, `timedelta`/`delta_trigger`,
  `multiple_cron_trigger`): a run at each tick; the logical date is the tick minus the optional
  `interval` (the data interval is [tick - interval, tick]). Without catchup the next run is the
  latest of: the latest tick not after now, the tick after the previous run, the start date.
- data-interval timetables (`cron_interval`, `delta_interval`): a run covers one interval and starts
  when it ends; without catchup only the latest complete interval runs.
- `once`: at the start date; `continuous`: one run after another (never two at once);
  `events`: at each listed instant; `assets`: never by time; `asset_or_time`: its timetable's times;
  `custom`: a plugin's Timetable class, asked through its own `next_dagrun_info`.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
from dataclasses import dataclass

UTC = dt.timezone.utc
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NextRun:
    logical_date: dt.datetime
    run_after: dt.datetime
    data_interval: tuple[dt.datetime, dt.datetime]


def _parse(value):
    if value is None or isinstance(value, dt.datetime):
        return value
    when = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _zone(name: str | None):
    if not name or name in ("UTC", "Etc/UTC"):
        return UTC
    from zoneinfo import ZoneInfo

    try:
        return ZoneInfo(name)
    except Exception:
        return UTC


# --- tick arithmetic -----------------------------------------------------------------------------


class _Cron:
    """Ticks of a cron expression, evaluated in the DAG's timezone (DST as wall-clock times)."""

    def __init__(self, expr: str, tz_name: str | None):
        from croniter import croniter

        self.expr = expr
        self.tz = _zone(tz_name)
        self._croniter = croniter

    def _it(self, start: dt.datetime):
        return self._croniter(self.expr, start.astimezone(self.tz))

    def next(self, current: dt.datetime) -> dt.datetime:  # first tick strictly after
        return self._it(current).get_next(dt.datetime).astimezone(UTC)

    def prev(self, current: dt.datetime) -> dt.datetime:  # last tick strictly before
        return self._it(current).get_prev(dt.datetime).astimezone(UTC)

    def is_tick(self, current: dt.datetime) -> bool:
        return self.next(current - dt.timedelta(microseconds=1)) == current

    def align_next(self, current: dt.datetime) -> dt.datetime:
        return current if self.is_tick(current) else self.next(current)

    def align_prev(self, current: dt.datetime) -> dt.datetime:
        return current if self.is_tick(current) else self.prev(current)


class _Delta:
    """Ticks every `delta` from wherever one starts: every instant is aligned."""

    def __init__(self, seconds: float):
        if seconds <= 0:
            raise ValueError("a timedelta schedule must be positive")
        self.delta = dt.timedelta(seconds=seconds)

    def next(self, current):
        return current + self.delta

    def prev(self, current):
        return current - self.delta

    def align_next(self, current):
        return current

    def align_prev(self, current):
        return current


def _first_run(ticks, now: dt.datetime, run_immediately) -> dt.datetime:
    """No start date and no run yet: the tick just past when it is recent enough (`run_immediately`),
    else the next one — CronTriggerTimetable's rule (every instant is a tick of a delta schedule)."""
    past, upcoming = ticks.align_prev(now), ticks.align_next(now)
    if run_immediately is True or past == upcoming:
        return past
    if isinstance(run_immediately, (int, float)) and not isinstance(run_immediately, bool):
        buffer = dt.timedelta(seconds=run_immediately)
    else:
        buffer = max((upcoming - past) / 10, dt.timedelta(minutes=5))
    return past if now - past <= buffer else upcoming


def _trigger_next(ticks, interval: dt.timedelta, last_end, start, end, catchup: bool, now,
                  run_immediately=False) -> NextRun | None:
    if catchup:
        if last_end is not None:
            when = ticks.next(last_end)
        elif start is None:
            when = _first_run(ticks, now, run_immediately)
        else:
            when = ticks.align_next(start)
    else:
        candidates = [ticks.align_prev(now)]
        if last_end is not None:
            candidates.append(ticks.next(last_end))
        elif start is None:
            candidates.append(_first_run(ticks, now, run_immediately))
        if start is not None:
            candidates.append(ticks.align_next(start))
        when = max(candidates)
    if end is not None and when > end:
        return None
    return NextRun(logical_date=when - interval, run_after=when, data_interval=(when - interval, when))


def _interval_next(ticks, last_end, start, end, catchup: bool, now, *, delta_round: float | None = None):
    earliest = start
    if not catchup:
        if delta_round is not None:
            rounded = dt.datetime.fromtimestamp(now.timestamp() - (now.timestamp() % delta_round), tz=UTC)
            latest_start = ticks.prev(rounded)
        else:
            last_start = ticks.prev(now)
            latest_start = last_start if ticks.next(last_start) == now else ticks.prev(last_start)
        earliest = latest_start if earliest is None else max(latest_start, ticks.align_next(earliest))
    elif earliest is not None:
        earliest = ticks.align_next(earliest)
    if last_end is None:
        if earliest is None:
            return None
        begin = earliest
    else:
        aligned = ticks.align_prev(last_end)
        begin = max(aligned, earliest) if earliest is not None else aligned
    if end is not None and begin > end:
        return None
    finish = ticks.next(begin)
    return NextRun(logical_date=begin, run_after=finish, data_interval=(begin, finish))


# --- the schedule kinds --------------------------------------------------------------------------


def _last_end(schedule: dict, last_logical: dt.datetime | None, tz: str | None) -> dt.datetime | None:
    """The previous scheduled run's data-interval end, from its logical date."""
    if last_logical is None:
        return None
    kind = schedule.get("kind")
    if kind == "cron_interval":
        return _Cron(schedule["value"], schedule.get("timezone") or tz).next(last_logical)
    if kind == "delta_interval":
        return last_logical + dt.timedelta(seconds=float(schedule["value"]))
    return last_logical + dt.timedelta(seconds=float(schedule.get("interval") or 0))


def next_run(serialized: dict, last_logical_date: dt.datetime | None, now: dt.datetime,
             schedule: dict | None = None) -> NextRun | None:
    """The next run to create after the scheduled run at `last_logical_date` (None: none yet)."""
    schedule = schedule or serialized.get("schedule") or {"kind": "none"}
    kind = schedule.get("kind", "none")
    start = _parse(serialized.get("start_date"))
    end = _parse(serialized.get("end_date"))
    catchup = bool(serialized.get("catchup"))
    tz = schedule.get("timezone") or serialized.get("timezone")
    last_end = _last_end(schedule, last_logical_date, tz)

    if kind in ("none", "assets"):
        return None
    if kind == "asset_or_time":
        return next_run(serialized, last_logical_date, now, schedule.get("timetable") or {"kind": "none"})
    if kind == "once":
        if last_logical_date is not None or start is None:
            return None
        return NextRun(start, start, (start, start))
    if kind == "continuous":
        if start is None:
            return None
        when = max(start, now) if last_end is None else max(last_end, now)
        if end is not None and when > end:
            return None
        return NextRun(when, when, (when, when))
    if kind in ("cron", "cron_trigger"):
        interval = dt.timedelta(seconds=float(schedule.get("interval") or 0))
        return _trigger_next(_Cron(schedule["value"], tz), interval, last_end, start, end, catchup, now,
                             schedule.get("run_immediately", False))
    if kind in ("timedelta", "delta_trigger"):
        interval = dt.timedelta(seconds=float(schedule.get("interval") or 0))
        return _trigger_next(_Delta(float(schedule["value"])), interval, last_end, start, end, catchup, now)
    if kind == "multiple_cron_trigger":
        interval = dt.timedelta(seconds=float(schedule.get("interval") or 0))
        found = [n for n in (_trigger_next(_Cron(e, tz), interval, last_end, start, end, catchup, now)
                             for e in schedule["value"]) if n is not None]
        if not found:
            return None
        if catchup:
            return min(found, key=lambda n: n.logical_date)
        past = [n for n in found if n.run_after <= now]  # without catchup: the latest due, else the soonest
        return max(past, key=lambda n: n.run_after) if past else min(found, key=lambda n: n.run_after)
    if kind == "cron_interval":
        return _interval_next(_Cron(schedule["value"], tz), last_end, start, end, catchup, now)
    if kind == "delta_interval":
        seconds = float(schedule["value"])
        return _interval_next(_Delta(seconds), last_end, start, end, catchup, now, delta_round=seconds)
    if kind == "events":
        return _events_next(schedule, last_end, start, end, catchup, now)
    if kind == "custom":
        return _custom_next(schedule, last_logical_date, start, end, catchup)
    log.warning("DAG %s: unknown schedule kind %r; it is never scheduled", serialized.get("dag_id"), kind)
    return None


def _events_next(schedule, last_end, start, end, catchup, now) -> NextRun | None:
    earliest = start
    if not catchup and (earliest is None or now > earliest):
        earliest = now
    for when in sorted(_parse(v) for v in schedule.get("value") or []):
        if earliest is not None and when < earliest:
            continue
        if last_end is not None and when <= last_end:
            continue
        if end is not None and when > end:
            return None
        return NextRun(when, when, (when, when))
    return None


def only_one_active(serialized: dict) -> bool:
    """`@continuous` DAGs have at most one active run: the next is created when the last ends."""
    return (serialized.get("schedule") or {}).get("kind") == "continuous"


# --- plugin timetables ---------------------------------------------------------------------------


def load_custom_class(classpath: str):
    """Import a plugin's Timetable class; the plugins folder is loaded first when there is one."""
    from ..sdk import importhook

    importhook.install()
    try:
        from ..sdk import plugins

        plugins.load()  # the configured plugins folder, once per process
        registered = plugins.timetable_classes.get(classpath)
        if registered is not None:
            return registered
    except ImportError:
        pass
    module_name, _, name = classpath.rpartition(".")
    obj = importlib.import_module(module_name)
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def _custom_next(schedule, last_logical, start, end, catchup) -> NextRun | None:
    from ..sdk.timetables import DataInterval, TimeRestriction

    try:
        cls = load_custom_class(schedule["class"])
        timetable = cls.deserialize(schedule.get("data") or {}) if hasattr(cls, "deserialize") else cls()
    except Exception as exc:
        log.warning("Timetable %s cannot be loaded (%s); its DAG is not scheduled", schedule.get("class"), exc)
        return None
    last = None
    if last_logical is not None:
        last = DataInterval(last_logical, _custom_end_of(timetable, last_logical))
    info = timetable.next_dagrun_info(last_automated_data_interval=last,
                                      restriction=TimeRestriction(start, end, catchup))
    if info is None:
        return None
    interval = info.data_interval
    logical = getattr(info, "logical_date", None) or (interval.start if interval else info.run_after)
    begin, finish = (interval.start, interval.end) if interval else (logical, logical)
    return NextRun(_aware(logical), _aware(info.run_after), (_aware(begin), _aware(finish)))


def _custom_end_of(timetable, logical: dt.datetime) -> dt.datetime:
    # The stored run keeps only its logical date; a plugin's interval is rebuilt as one day's worth when
    # the timetable cannot tell (the common daily case) — the loop reads the real end from the DAG row.
    try:
        return timetable.infer_manual_data_interval(run_after=logical + dt.timedelta(days=1)).end
    except Exception:
        return logical + dt.timedelta(days=1)


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
