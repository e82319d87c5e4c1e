"""A DAG as a plain, deterministic JSON document (Leoflow's own format).

The document is what the DAG processor stores and the scheduler reads, so
its hash (of `json.dumps(doc, sort_keys=True)`) must change only when the DAG
does: every list is sorted and every value is plain JSON.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

CRON_PRESETS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@quarterly": "0 0 1 */3 *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}


def schedule_doc(schedule: Any) -> dict:
    """{"kind", "value", "preset"} for the schedule forms Leoflow runs."""
    if schedule is None:
        return {"kind": "none", "value": None, "preset": None}
    if isinstance(schedule, dt.timedelta):
        return {"kind": "timedelta", "value": schedule.total_seconds(), "preset": None}
    if schedule == "@once":
        return {"kind": "once", "value": None, "preset": "@once"}
    if schedule == "@continuous":
        return {"kind": "continuous", "value": None, "preset": "@continuous"}
    if isinstance(schedule, str):
        if schedule in CRON_PRESETS:
            return {"kind": "cron", "value": CRON_PRESETS[schedule], "preset": schedule}
        return {"kind": "cron", "value": schedule, "preset": None}
    raise NotImplementedError(f"Leoflow does not support schedule={schedule!r} yet")


def timetable_summary(schedule: Any) -> str | None:
    """What Airflow 3.2 shows as the timetable summary (presets appear expanded)."""
    if schedule is None:
        return None
    if isinstance(schedule, dt.timedelta):
        return str(schedule)
    return CRON_PRESETS.get(schedule, schedule)


def iso_utc(value: dt.datetime | None) -> str | None:
    """ISO-8601 in UTC; naive datetimes are taken to be UTC."""
    if value is None:
        return None
    if not isinstance(value, dt.datetime):  # a date
        value = dt.datetime(value.year, value.month, value.day)
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    utc = value.astimezone(dt.timezone.utc)
    # Rebuild as a stdlib datetime so pendulum and datetime print the same.
    return dt.datetime(utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second,
                       utc.microsecond, tzinfo=dt.timezone.utc).isoformat()


def seconds(value: dt.timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()


def plain(value: Any) -> Any:
    """Param defaults and the like as JSON values (str() for anything else)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((plain(v) for v in value), key=repr)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return str(value)


def task_doc(task) -> dict:
    return {
        "task_id": task.task_id,
        "task_type": task.task_type,
        "upstream": sorted(task.upstream_task_ids),
        "downstream": sorted(task.downstream_task_ids),
        "trigger_rule": str(task.trigger_rule),
        "retries": task.retries,
        "retry_delay": seconds(task.retry_delay),
        "retry_exponential_backoff": bool(task.retry_exponential_backoff),
        "max_retry_delay": seconds(task.max_retry_delay),
        "execution_timeout": seconds(task.execution_timeout),
        "pool": task.pool,
        "pool_slots": task.pool_slots,
        "queue": task.queue,
        "priority_weight": task.priority_weight,
        "weight_rule": task.weight_rule,
        "owner": task.owner,
        "depends_on_past": task.depends_on_past,
        "template_fields": list(task.template_fields),
        "doc_md": task.doc_md,
        "ui_color": task.ui_color,
        "ui_fgcolor": task.ui_fgcolor,
        "is_mapped": False,
    }


def serialize_dag(dag) -> dict:
    """The DAG's document; see the module docstring for the rules."""
    return {
        "dag_id": dag.dag_id,
        "fileloc": dag.fileloc,
        "description": dag.description,
        "doc_md": dag.doc_md,
        "schedule": schedule_doc(dag.schedule),
        "timetable_summary": timetable_summary(dag.schedule),
        "start_date": iso_utc(dag.start_date),
        "end_date": iso_utc(dag.end_date),
        "catchup": bool(dag.catchup),
        "tags": sorted(dag.tags),
        "owner": dag.owner,
        "max_active_runs": dag.max_active_runs,
        "max_active_tasks": dag.max_active_tasks,
        "dagrun_timeout": seconds(dag.dagrun_timeout),
        "params": {name: plain(dag.params[name]) for name in sorted(dag.params)},
        "is_paused_upon_creation": dag.is_paused_upon_creation,
        "tasks": [task_doc(dag.task_dict[t]) for t in sorted(dag.task_dict)],
    }
