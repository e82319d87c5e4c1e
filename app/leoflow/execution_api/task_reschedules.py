"""Execution API: `GET /task-reschedules/{id}/start_date`, when a rescheduled sensor first poked."""

from __future__ import annotations

from ..store import reschedules
from .http import respond


def get_start_date(call, task_instance_id):
    with call.engine.connect() as conn:
        first = reschedules.first_start_date(conn, task_instance_id)
    return respond(first)
