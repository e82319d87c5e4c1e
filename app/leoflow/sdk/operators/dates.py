"""Branches on the clock: `BranchDateTimeOperator`, `BranchDayOfWeekOperator`, `LatestOnlyOperator`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from leoflow.sdk import timezone
from leoflow.sdk.exceptions import AirflowException
from leoflow.sdk.operators.branch import BaseBranchOperator
from leoflow.sdk.weekday import WeekDay


def _now_or_logical(op, context) -> dt.datetime:
    if op.use_task_logical_date:
        now = context.get("logical_date")
        if not now:
            now = context["dag_run"].run_after
        return now
    return timezone.utcnow()


def target_times_as_dates(base_date: dt.datetime, lower, upper):
    """Times of day become datetimes on base_date's day (upper moves a day on if needed)."""
    if isinstance(lower, dt.datetime) and isinstance(upper, dt.datetime):
        return lower, upper
    if lower is not None and isinstance(lower, dt.time):
        lower = dt.datetime.combine(base_date, lower)
    if upper is not None and isinstance(upper, dt.time):
        upper = dt.datetime.combine(base_date, upper)
    if lower is None or upper is None:
        return lower, upper
    if upper < lower:
        upper += dt.timedelta(days=1)
    return lower, upper


def _coerce(value, tz):
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=tz)
    return value


class BranchDateTimeOperator(BaseBranchOperator):
    def __init__(self, *, follow_task_ids_if_true, follow_task_ids_if_false, target_lower=None,
                 target_upper=None, use_task_logical_date: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if target_lower is None and target_upper is None:
            raise AirflowException(
                "Both target_upper and target_lower are None. At least one must be defined to be compared "
                "to the current datetime"
            )
        self.target_lower = target_lower
        self.target_upper = target_upper
        self.follow_task_ids_if_true = follow_task_ids_if_true
        self.follow_task_ids_if_false = follow_task_ids_if_false
        self.use_task_logical_date = use_task_logical_date

    def choose_branch(self, context):
        now = _now_or_logical(self, context)
        lower, upper = target_times_as_dates(now, self.target_lower, self.target_upper)
        tz = self.dag.timezone if self.dag is not None else dt.timezone.utc
        lower, upper = _coerce(lower, tz), _coerce(upper, tz)
        if upper is not None and upper < now:
            return self.follow_task_ids_if_false
        if lower is not None and lower > now:
            return self.follow_task_ids_if_false
        return self.follow_task_ids_if_true


class BranchDayOfWeekOperator(BaseBranchOperator):
    def __init__(self, *, follow_task_ids_if_true, follow_task_ids_if_false, week_day,
                 use_task_logical_date: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.follow_task_ids_if_true = follow_task_ids_if_true
        self.follow_task_ids_if_false = follow_task_ids_if_false
        self.week_day = week_day
        self.use_task_logical_date = use_task_logical_date
        self._week_day_num = WeekDay.validate_week_day(week_day)

    def choose_branch(self, context):
        now = _now_or_logical(self, context)
        if not self.use_task_logical_date and self.dag is not None:
            now = now.astimezone(self.dag.timezone)
        if now.isoweekday() in self._week_day_num:
            return self.follow_task_ids_if_true
        return self.follow_task_ids_if_false


class LatestOnlyOperator(BaseBranchOperator):
    """Skips what follows unless this run is the latest scheduled one (manual runs always proceed)."""

    ui_color = "#e9ffdb"

    def choose_branch(self, context):
        dag_run = context["dag_run"]
        follow = sorted(self.downstream_task_ids)
        if str(getattr(dag_run, "run_type", "")) in ("manual", "DagRunType.MANUAL"):
            self.log.info("Manually triggered DAG_Run: allowing execution to proceed.")
            return follow
        window = self._window(dag_run)
        if window is None:
            self.log.info("Last scheduled execution: allowing execution to proceed.")
            return follow
        left, right = window
        now = timezone.utcnow()
        self.log.info("Checking latest only with left_window: %s right_window: %s now: %s", left, right, now)
        if not left < now <= right:
            self.log.info("Not latest execution, skipping downstream.")
            return []
        self.log.info("Latest, allowing execution to proceed.")
        return follow

    def _window(self, dag_run):
        start = getattr(dag_run, "data_interval_start", None) or getattr(dag_run, "logical_date", None)
        end = getattr(dag_run, "data_interval_end", None) or start
        if start is None or end is None or start == end:
            return None  # point-in-time runs: each one is the latest
        from leoflow.sdk.serialize import schedule_doc

        doc = schedule_doc(self.dag.schedule) if self.dag is not None else {"kind": "none"}
        if doc["kind"] in ("cron", "cron_trigger", "cron_interval"):
            from croniter import croniter

            nxt = croniter(doc["value"], end).get_next(dt.datetime)
        elif doc["kind"] in ("timedelta", "delta_trigger", "delta_interval"):
            nxt = end + dt.timedelta(seconds=doc["value"])
        else:
            return None
        return start, nxt
