"""Execution API: Human-in-the-loop details of a task instance (`/hitlDetails/{task_instance_id}`).

The task (HITLOperator) posts its question, polls for the answer, and may answer it itself (a default
on timeout); people answer through the REST API (`api/hitl.py`). One detail per task instance: a new
try's question replaces an answered one.
"""

from __future__ import annotations

from sqlalchemy import insert, select, update

from ..store.tables import hitl_detail
from ..store.types import utcnow
from .http import HTTPError, not_found, respond, require_fields

def _invalid(loc: str, kind: str, message: str, value) -> HTTPError:
    return HTTPError(422, [{"type": kind, "loc": ["body", loc], "msg": message, "input": value}])


def _string_list(body: dict, name: str, *, required: bool) -> list[str] | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _invalid(name, "list_type", "Input should be a valid list of strings", value)
    if required and not value:
        raise _invalid(name, "too_short", "List should have at least 1 item after validation, not 0", value)
    return value


def _check_ti_id(body: dict, task_instance_id: str) -> None:
    if str(body.get("ti_id")) != task_instance_id:
        raise _invalid("ti_id", "value_error", "ti_id must be the task instance of the path", body.get("ti_id"))


def _detail(conn, task_instance_id: str):
    return conn.execute(select(hitl_detail).where(hitl_detail.c.ti_id == task_instance_id)).first()


def _request_body(row) -> dict:
    return {"ti_id": row.ti_id, "options": row.options, "subject": row.subject, "body": row.body,
            "defaults": row.defaults, "multiple": bool(row.multiple), "params": row.params or {},
            "assigned_users": row.assignees or []}


def _response_body(row) -> dict:
    user = row.responded_by if isinstance(row.responded_by, dict) else None
    return {"response_received": row.responded_at is not None,
            "responded_by_user": {"id": str(user.get("id")), "name": str(user.get("name"))} if user else None,
            "responded_at": row.responded_at, "chosen_options": row.chosen_options or [],
            "params_input": row.params_input or {}}


def upsert_hitl_detail(call, task_instance_id):
    body = require_fields(call.body, {"ti_id": str, "options": list, "subject": str})
    _check_ti_id(body, task_instance_id)
    options = _string_list(body, "options", required=True)
    defaults = _string_list(body, "defaults", required=False)
    if body.get("body") is not None and not isinstance(body["body"], str):
        raise _invalid("body", "string_type", "Input should be a valid string", body["body"])
    if not isinstance(body.get("multiple", False), bool):
        raise _invalid("multiple", "bool_type", "Input should be a valid boolean", body["multiple"])
    if not isinstance(body.get("params", {}), dict):
        raise _invalid("params", "dict_type", "Input should be a valid dictionary", body["params"])
    users = body.get("assigned_users", [])
    if not isinstance(users, list) or not all(isinstance(u, dict) and isinstance(u.get("id"), str)
                                              and isinstance(u.get("name"), str) for u in users):
        raise _invalid("assigned_users", "list_type", "Input should be a list of {id, name} users", users)
    with call.engine.begin() as conn:
        row = _detail(conn, task_instance_id)
        if row is None:
            conn.execute(insert(hitl_detail).values(
                ti_id=task_instance_id, options=options, subject=body["subject"], body=body.get("body"),
                defaults=defaults, multiple=body.get("multiple", False), params=body.get("params", {}),
                assignees=[{"id": u["id"], "name": u["name"]} for u in users], created_at=utcnow(),
                params_input={}))
        elif row.responded_at is not None:  # a new try asks again: only the latest answer is kept
            conn.execute(update(hitl_detail).where(hitl_detail.c.ti_id == task_instance_id).values(
                responded_by=None, responded_at=None, chosen_options=None, params_input={}))
        return respond(_request_body(_detail(conn, task_instance_id)), 201)


def update_hitl_detail(call, task_instance_id):
    body = require_fields(call.body, {"ti_id": str, "chosen_options": list})
    _check_ti_id(body, task_instance_id)
    chosen = _string_list(body, "chosen_options", required=True)
    params_input = body.get("params_input") or {}
    if not isinstance(params_input, dict):
        raise _invalid("params_input", "dict_type", "Input should be a valid dictionary", params_input)
    with call.engine.begin() as conn:
        row = _existing(conn, task_instance_id)
        if row.responded_at is not None:
            raise HTTPError(409, f"Human-in-the-loop detail for Task Instance with id {task_instance_id} "
                                 "already exists.")
        conn.execute(update(hitl_detail).where(hitl_detail.c.ti_id == task_instance_id).values(
            responded_by=None, responded_at=utcnow(), chosen_options=chosen, params_input=params_input))
        return respond(_response_body(_detail(conn, task_instance_id)))


def get_hitl_detail(call, task_instance_id):
    with call.engine.connect() as conn:
        return respond(_response_body(_existing(conn, task_instance_id)))


def _existing(conn, task_instance_id: str):
    row = _detail(conn, task_instance_id)
    if row is None:
        raise not_found("HITLDetail not found. This happens most likely due to clearing task instance before "
                        "receiving response.")
    return row
