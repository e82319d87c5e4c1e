"""Timetable classes DAG files pass as `schedule=` (authoring side only).

Each one knows the schedule document it stands for (docs/serialized-dag.md);
the scheduler computes run times from that document, never from these objects.
A plugin's own `Timetable` subclass becomes `{"kind": "custom", ...}`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, NamedTuple

CRON_PRESETS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@quarterly": "0 0 1 */3 *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}


def _tz_name(tz) -> str:
    if tz is None:
        return "UTC"
    if isinstance(tz, str):
        return tz
    name = getattr(tz, "name", None) or getattr(tz, "key", None) or getattr(tz, "zone", None)
    if name:
        return str(name)
    if tz.utcoffset(None) == dt.timedelta(0):
        return "UTC"
    return str(tz)


def _check_cron(expression: str) -> str:
    cron = CRON_PRESETS.get(expression, expression)
    from croniter import croniter

    if not croniter.is_valid(cron):
        raise ValueError(f"Invalid Cron expression: {expression!r}")
    return cron


def _secs(value) -> float:
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if hasattr(value, "total_seconds"):
        return value.total_seconds()
    raise NotImplementedError(f"Leoflow does not support a relativedelta schedule ({value!r}) yet")


class DataInterval(NamedTuple):
    start: dt.datetime
    end: dt.datetime

    @classmethod
    def exact(cls, at: dt.datetime) -> "DataInterval":
        return cls(at, at)


class TimeRestriction(NamedTuple):
    earliest: dt.datetime | None
    latest: dt.datetime | None
    catchup: bool


class DagRunInfo(NamedTuple):
    run_after: dt.datetime
    data_interval: DataInterval | None
    partition_date: Any = None
    partition_key: Any = None

    @classmethod
    def exact(cls, at: dt.datetime) -> "DagRunInfo":
        return cls(run_after=at, data_interval=DataInterval.exact(at))

    @classmethod
    def interval(cls, start: dt.datetime, end: dt.datetime) -> "DagRunInfo":
        return cls(run_after=end, data_interval=DataInterval(start, end))

    @property
    def logical_date(self) -> dt.datetime:
        return self.data_interval.start if self.data_interval else self.run_after


class Timetable:
    """Base class of every timetable; plugin timetables subclass it."""

    description: str = ""
    periodic: bool = True
    can_be_scheduled: bool = True
    run_ordering: tuple = ("data_interval_end", "logical_date")
    active_runs_limit: int | None = None
    asset_condition = None

    @property
    def summary(self) -> str:
        return type(self).__name__

    @classmethod
    def deserialize(cls, data: dict) -> "Timetable":
        return cls()

    def serialize(self) -> dict:
        return {}

    def validate(self) -> None:
        pass

    def infer_manual_data_interval(self, *, run_after: dt.datetime) -> DataInterval:
        return DataInterval.exact(run_after)

    def next_dagrun_info(self, *, last_automated_data_interval, restriction):
        raise NotImplementedError

    def schedule_doc(self) -> dict:
        from leoflow.sdk.serialize import plain

        cls = type(self)
        return {"kind": "custom", "class": f"{cls.__module__}.{cls.__qualname__}",
                "data": plain(self.serialize())}

    type_name = property(lambda self: type(self).__name__)


class NullTimetable(Timetable):
    description = "Never, external triggers only"
    can_be_scheduled = False
    periodic = False
    summary = "None"

    def schedule_doc(self) -> dict:
        return {"kind": "none", "value": None, "preset": None}


class OnceTimetable(Timetable):
    description = "Once, as soon as possible"
    periodic = False
    summary = "@once"

    def schedule_doc(self) -> dict:
        return {"kind": "once", "value": None, "preset": "@once"}


class ContinuousTimetable(Timetable):
    description = "As frequently as possible, but only one run at a time."
    active_runs_limit = 1
    summary = "@continuous"

    def schedule_doc(self) -> dict:
        return {"kind": "continuous", "value": None, "preset": "@continuous"}


class CronTriggerTimetable(Timetable):
    def __init__(self, cron: str, *, timezone: Any = "UTC", interval: dt.timedelta | Any = dt.timedelta(),
                 run_immediately: bool | dt.timedelta = False):
        self.expression = cron
        self._cron = _check_cron(cron)
        self._timezone = _tz_name(timezone)
        self._interval = interval
        self._run_immediately = run_immediately

    @property
    def summary(self) -> str:
        return self.expression if self.expression not in CRON_PRESETS else CRON_PRESETS[self.expression]

    @property
    def description(self) -> str:
        from leoflow.sdk.cron_description import describe

        return describe(self._cron)

    def schedule_doc(self) -> dict:
        doc = {"kind": "cron_trigger", "value": self._cron, "timezone": self._timezone,
               "interval": _secs(self._interval)}
        if self._run_immediately:
            ri = self._run_immediately
            doc["run_immediately"] = _secs(ri) if not isinstance(ri, bool) else True
        return doc


class CronPartitionTimetable(CronTriggerTimetable):
    """Cron runs that each carry a partition key (Airflow 3.2)."""

    def __init__(self, cron: str, *, timezone: Any = "UTC", run_offset: Any = None,
                 run_immediately: bool | dt.timedelta = False, key_format: str = "%Y-%m-%dT%H:%M:%S"):
        super().__init__(cron, timezone=timezone, run_immediately=run_immediately)
        self.key_format = key_format
        self.run_offset = run_offset

    def schedule_doc(self) -> dict:
        return {**super().schedule_doc(), "partitioned": True, "key_format": self.key_format}


class CronDataIntervalTimetable(Timetable):
    def __init__(self, cron: str, timezone: Any = "UTC"):
        self.expression = cron
        self._cron = _check_cron(cron)
        self._timezone = _tz_name(timezone)

    description = CronTriggerTimetable.description

    @property
    def summary(self) -> str:
        return self.expression

    def schedule_doc(self) -> dict:
        return {"kind": "cron_interval", "value": self._cron, "timezone": self._timezone}


class MultipleCronTriggerTimetable(Timetable):
    def __init__(self, *crons: str, timezone: Any, interval: dt.timedelta = dt.timedelta(),
                 run_immediately: bool | dt.timedelta = False):
        if not crons:
            raise ValueError("cron expression required")
        self._crons = [_check_cron(c) for c in crons]
        self._timezone = _tz_name(timezone)
        self._interval = interval

    @property
    def summary(self) -> str:
        return ", ".join(self._crons)

    def schedule_doc(self) -> dict:
        return {"kind": "multiple_cron_trigger", "value": list(self._crons), "timezone": self._timezone,
                "interval": _secs(self._interval)}


class DeltaTriggerTimetable(Timetable):
    def __init__(self, delta: dt.timedelta, *, interval: dt.timedelta = dt.timedelta()):
        self._delta = delta
        self._interval = interval

    @property
    def summary(self) -> str:
        return str(self._delta)

    def schedule_doc(self) -> dict:
        return {"kind": "delta_trigger", "value": _secs(self._delta), "interval": _secs(self._interval)}


class DeltaDataIntervalTimetable(Timetable):
    def __init__(self, delta: dt.timedelta):
        self._delta = delta

    @property
    def summary(self) -> str:
        return str(self._delta)

    def schedule_doc(self) -> dict:
        return {"kind": "delta_interval", "value": _secs(self._delta)}


class EventsTimetable(Timetable):
    def __init__(self, event_dates, restrict_to_events: bool = False, presorted: bool = False,
                 description: str | None = None):
        from leoflow.sdk.serialize import iso_utc

        self.event_dates = list(event_dates) if presorted else sorted(event_dates, key=iso_utc)
        self.restrict_to_events = restrict_to_events
        self._iso = sorted(iso_utc(d) for d in self.event_dates)
        if description is None:
            n = len(self.event_dates)
            self.description = f"{n} events" if n else "No events"
            self._summary = f"{n} events" if n else "No events"
        else:
            self.description = description
            self._summary = description

    @property
    def summary(self) -> str:
        return self._summary

    def schedule_doc(self) -> dict:
        return {"kind": "events", "value": self._iso, "restrict_to_events": bool(self.restrict_to_events),
                "description": self.description}


class AssetTriggeredTimetable(Timetable):
    description = "Triggered by assets"
    summary = "Asset"

    def __init__(self, asset_condition):
        from leoflow.sdk.assets import condition_of

        self.asset_condition = condition_of(asset_condition)

    def schedule_doc(self) -> dict:
        return {"kind": "assets", "value": self.asset_condition.expression()}


class PartitionedAssetTimetable(AssetTriggeredTimetable):
    summary = "Partitioned Asset"

    def __init__(self, *, assets, partition_mapper_config: dict | None = None, default_partition_mapper=None):
        super().__init__(assets)
        self.partition_mapper_config = dict(partition_mapper_config or {})
        self.default_partition_mapper = default_partition_mapper

    def schedule_doc(self) -> dict:
        return {**super().schedule_doc(), "partitioned": True}


class AssetOrTimeSchedule(AssetTriggeredTimetable):
    def __init__(self, *, timetable: Timetable, assets):
        super().__init__(assets)
        self.timetable = timetable
        self.description = f"Triggered by assets or {timetable.description}"

    @property
    def summary(self) -> str:
        return f"Asset or {self.timetable.summary}"

    def schedule_doc(self) -> dict:
        return {"kind": "asset_or_time", "timetable": schedule_doc(self.timetable),
                "assets": self.asset_condition.expression()}


def as_timetable(schedule: Any) -> Timetable:
    """The timetable object a DAG's `schedule=` stands for (Airflow 3.2's defaults)."""
    from leoflow.sdk.assets import BaseAsset

    if isinstance(schedule, Timetable):
        return schedule
    if schedule is None:
        return NullTimetable()
    if schedule == "@once":
        return OnceTimetable()
    if schedule == "@continuous":
        return ContinuousTimetable()
    if isinstance(schedule, str):
        return CronTriggerTimetable(schedule, timezone="UTC")
    if isinstance(schedule, dt.timedelta):
        return DeltaTriggerTimetable(schedule)
    if isinstance(schedule, BaseAsset) or (isinstance(schedule, (list, tuple)) and schedule
                                           and all(isinstance(s, BaseAsset) for s in schedule)):
        return AssetTriggeredTimetable(schedule)
    if hasattr(schedule, "total_seconds") or type(schedule).__name__ == "relativedelta":
        raise NotImplementedError(f"Leoflow does not support schedule={schedule!r} (relativedelta) yet")
    raise NotImplementedError(
        f"Leoflow does not support schedule={schedule!r} yet (supported: None, a cron string or preset, "
        "a timedelta, assets, or a timetable)"
    )


def schedule_doc(schedule: Any) -> dict:
    """The schedule document; plain cron strings and timedeltas keep their original kinds."""
    if schedule is None:
        return {"kind": "none", "value": None, "preset": None}
    if isinstance(schedule, dt.timedelta):
        return {"kind": "timedelta", "value": schedule.total_seconds(), "preset": None}
    if isinstance(schedule, str) and schedule not in ("@once", "@continuous"):
        cron = _check_cron(schedule)
        return {"kind": "cron", "value": cron, "preset": schedule if schedule in CRON_PRESETS else None}
    timetable = as_timetable(schedule)
    doc = timetable.schedule_doc()
    if doc["kind"] == "custom":
        from leoflow.sdk.plugins import check_timetable_registered

        check_timetable_registered(type(timetable))
    return doc


def summary_and_description(schedule: Any) -> tuple[str | None, str | None, str]:
    """(timetable_summary, timetable_description, timetable type name) as Airflow 3.2.1 shows them."""
    timetable = as_timetable(schedule)
    summary = timetable.summary
    if isinstance(schedule, str) and schedule not in ("@once", "@continuous"):
        summary = CRON_PRESETS.get(schedule, schedule)
    if schedule is None:
        summary = None
    return summary, getattr(timetable, "description", ""), type(timetable).__name__
