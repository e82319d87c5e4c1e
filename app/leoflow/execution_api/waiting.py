"""Execution API: a task that waits — deferred to a trigger, or a sensor rescheduled for later.

`PATCH /task-instances/{id}/state` with `state: deferred` (Airflow's TIDeferredStatePayload) or
`state: up_for_reschedule` (TIRescheduleStatePayload) lands here from `task_instances.update_state`;
`GET /task-reschedules/{id}/start_date` (`task_reschedules.py`) tells a sensor when it first poked.
"""

from __future__ import annotations

import datetime as dt
import json
import re

from ..store import reschedules, triggers
from ..store.types import utcnow
from .http import HTTPError, parse_time, require_fields

WAITING_STATES = ("deferred", "up_for_reschedule")

_ISO_DURATION = re.compile(
    r"^P(?:(?P<days>\d+(?:\.\d+)?)D)?(?:T(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$")


def parse_duration(value, field: str) -> dt.timedelta | None:
    """A timedelta as pydantic sends it: seconds (number) or an ISO 8601 duration (`PT1M30S`)."""
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return dt.timedelta(seconds=value)
    if isinstance(value, str):
        text = value.strip()
        negative = text.startswith("-")
        m = _ISO_DURATION.match(text.lstrip("-"))
        if m and any(m.groupdict().values()):
            parts = {k: float(v) for k, v in m.groupdict().items() if v}
            delta = dt.timedelta(**parts)
            return -delta if negative else delta
        try:
            return dt.timedelta(seconds=float(text))
        except ValueError:
            pass
    raise HTTPError(422, [{"type": "time_delta_parsing", "loc": ["body", field],
                           "msg": "Input should be a valid timedelta", "input": value}])


def update_waiting_state(conn, ti, body: dict) -> str:
    """Apply a deferred/up_for_reschedule report to a running task instance; returns the new state."""
    state = body["state"]
    if state == "deferred":
        require_fields(body, {"classpath": str, "next_method": str})
        trigger_kwargs = body.get("trigger_kwargs") or {}
        if isinstance(trigger_kwargs, str):  # the client encrypted or pre-encoded them: keep as given
            try:
                trigger_kwargs = json.loads(trigger_kwargs)
            except ValueError:
                raise HTTPError(422, [{"type": "json_invalid", "loc": ["body", "trigger_kwargs"],
                                       "msg": "trigger_kwargs must be a JSON object", "input": trigger_kwargs}])
        if not isinstance(trigger_kwargs, dict):
            raise HTTPError(422, [{"type": "dict_type", "loc": ["body", "trigger_kwargs"],
                                   "msg": "Input should be a valid dictionary", "input": trigger_kwargs}])
        next_kwargs = body.get("next_kwargs") or {}
        if not isinstance(next_kwargs, dict):
            raise HTTPError(422, [{"type": "dict_type", "loc": ["body", "next_kwargs"],
                                   "msg": "Input should be a valid dictionary", "input": next_kwargs}])
        timeout = parse_duration(body.get("trigger_timeout"), "trigger_timeout")
        trigger_id = triggers.create(conn, body["classpath"], trigger_kwargs)
        triggers.defer_ti(conn, ti.id, trigger_id=trigger_id, next_method=body["next_method"],
                          next_kwargs=next_kwargs, timeout_at=utcnow() + timeout if timeout is not None else None)
        return "deferred"
    require_fields(body, {"reschedule_date": str})
    when = parse_time(body["reschedule_date"], "reschedule_date")
    end = parse_time(body["end_date"], "end_date") if body.get("end_date") else utcnow()
    reschedules.reschedule_ti(conn, ti.id, start_date=ti.start_date, end_date=end, reschedule_date=when)
    return "up_for_reschedule"


def run_context(conn, ti) -> dict:
    """What `PATCH /run` adds for a waiting task: how often it was rescheduled, where a deferral resumes."""
    return {
        # A new try starts with no start date and no reschedules (the scheduler clears its start; a poke
        # after a reschedule keeps the last one): its count is 0 without asking the database.
        "task_reschedule_count": reschedules.count(conn, ti.id) if ti.start_date is not None else 0,
        "next_method": ti.next_method,
        "next_kwargs": ti.next_kwargs if ti.next_method else None,
    }
