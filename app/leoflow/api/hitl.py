"""Human-in-the-loop requests of task instances: list, get, answer, and those of earlier tries.

A waiting task's request is a `hitl_detail` row (the task side writes it); answering it here
records who chose what, once.
"""

from __future__ import annotations

from sqlalchemy import select, update

from ..store.tables import dag_run, hitl_detail, hitl_detail_history, task_instance, task_instance_history
from ..store.types import utcnow
from . import actions, queries, serializers
from .errors import HTTPError, not_found
from .task_instances import _joined, scoped, state_filter, ti_bodies, ti_not_found
from .tries import try_body
from .validate import Body, Query, json_body, path_int

_ORDER = {
    "ti_id": hitl_detail.c.ti_id,
    "subject": hitl_detail.c.subject,
    "responded_at": hitl_detail.c.responded_at,
    "created_at": hitl_detail.c.created_at,
    "task_instance_operator": task_instance.c.operator,
    "task_instance_state": task_instance.c.state,
    "dag_id": task_instance.c.dag_id,
    "run_id": task_instance.c.run_id,
    "task_id": task_instance.c.task_id,
    "task_display_name": task_instance.c.task_id,
    "map_index": task_instance.c.map_index,
    "rendered_map_index": task_instance.c.rendered_map_index,
    "run_after": dag_run.c.run_after,
}


_USER_KEYS = {"responded_by_user_id": "id", "responded_by_user_name": "name"}


def _user(value) -> dict | None:
    return {"id": str(value.get("id")), "name": str(value.get("name"))} if isinstance(value, dict) else None


def request_fields(row) -> dict:
    """The parts HITLDetail and HITLDetailHistory share."""
    return {
        "options": row.options or [],
        "subject": row.subject,
        "body": row.body,
        "defaults": row.defaults,
        "multiple": bool(row.multiple),
        "params": row.params or {},
        "assigned_users": [_user(u) for u in (row.assignees or []) if _user(u)],
        "created_at": serializers.iso(row.created_at),
        "responded_by_user": _user(row.responded_by),
        "responded_at": serializers.iso(row.responded_at),
        "chosen_options": row.chosen_options,
        "params_input": row.params_input or {},
        "response_received": row.responded_at is not None,
    }


def _with_requests():
    return _joined().add_columns(*[c for c in hitl_detail.c if c.name != "ti_id"]).join(
        hitl_detail, hitl_detail.c.ti_id == task_instance.c.id)


def list_hitl(services, request):
    p = request.path_params
    q = Query(request)
    limit, offset = q.paging()
    received = q.bool("response_received")
    map_index = q.int("map_index")
    query = queries.date_range(q, _with_requests(), hitl_detail, ("created_at",))
    q.done()
    if q.str("task_id"):
        query = query.where(task_instance.c.task_id == q.str("task_id"))
    for column, name in ((task_instance.c.task_id, "task_id_pattern"), (task_instance.c.dag_id, "dag_id_pattern"),
                         (hitl_detail.c.subject, "subject_search"), (hitl_detail.c.body, "body_search")):
        if (cond := queries.like_any(column, q.str(name))) is not None:
            query = query.where(cond)
    if map_index is not None:
        query = query.where(task_instance.c.map_index == map_index)
    if q.list("state"):
        query = query.where(state_filter(q.list("state")))
    if received is not None:
        query = query.where(hitl_detail.c.responded_at.is_not(None) if received
                            else hitl_detail.c.responded_at.is_(None))
    # Who answered is JSON: ordering by it (and filtering on it) happens in Python, alike on both databases.
    terms = [t.strip() for item in q.list("order_by") for t in item.split(",") if t.strip()]
    by_user = [t for t in terms if t.lstrip("-") in _USER_KEYS]
    sql_terms = [t for t in terms if t.lstrip("-") not in _USER_KEYS]
    query = queries.ordered(query, sql_terms if sql_terms or not by_user else ["ti_id"], _ORDER, ["ti_id"],
                            tiebreak=hitl_detail.c.ti_id)
    with services.engine.connect() as conn:
        query = scoped(conn, query, p["dag_id"], p["dag_run_id"])
        rows = conn.execute(query).all()
        for name, key in _USER_KEYS.items():
            wanted = q.list(name)
            if wanted:
                rows = [r for r in rows if (_user(r.responded_by) or {}).get(key) in wanted]
        for term in reversed(by_user):  # stable sorts, last key first
            key = _USER_KEYS[term.lstrip("-")]
            rows.sort(key=lambda r, k=key: ((_user(r.responded_by) or {}).get(k) is None,
                                           (_user(r.responded_by) or {}).get(k) or ""),
                      reverse=term.startswith("-"))
        total, rows = len(rows), rows[offset:offset + limit]
        tis = ti_bodies(conn, rows)
    return {"hitl_details": [{**request_fields(r), "task_instance": t} for r, t in zip(rows, tis)],
            "total_entries": total}


def _one(conn, p, map_index):
    row = conn.execute(_with_requests().where(
        task_instance.c.dag_id == p["dag_id"], task_instance.c.run_id == p["dag_run_id"],
        task_instance.c.task_id == p["task_id"], task_instance.c.map_index == map_index)).first()
    if row is None:
        exists = conn.execute(select(task_instance.c.id).where(
            task_instance.c.dag_id == p["dag_id"], task_instance.c.run_id == p["dag_run_id"],
            task_instance.c.task_id == p["task_id"], task_instance.c.map_index == map_index)).first()
        if exists is None:
            raise ti_not_found(p["dag_id"], p["dag_run_id"], p["task_id"], map_index)
        raise not_found(f"Human-in-the-loop detail does not exist for Task Instance with id {exists.id}")
    return row


def get_hitl(services, request):
    p = request.path_params
    with services.engine.connect() as conn:
        row = _one(conn, p, path_int(request, "map_index"))
        return {**request_fields(row), "task_instance": ti_bodies(conn, [row])[0]}


def answer_hitl(services, request):
    p = request.path_params
    map_index = path_int(request, "map_index")
    body = Body(json_body(request), allowed={"chosen_options", "params_input"}, required={"chosen_options"})
    chosen = body.str_list("chosen_options")
    params_input = body.dict("params_input") or {}
    body.done()
    user = request.state.user.username
    with services.engine.begin() as conn:
        row = _one(conn, p, map_index)
        if row.responded_at is not None:
            raise HTTPError(409, f"Human-in-the-loop detail has already been updated for Task Instance with id "
                                 f"{row.id} and is not allowed to write again.")
        assignees = [u for u in (row.assignees or []) if _user(u)]
        if assignees and user not in {str(u.get("id")) for u in assignees} | {str(u.get("name")) for u in assignees}:
            raise HTTPError(403, f"User={user} is not a respondent for the task.")
        unknown = [c for c in chosen if c not in (row.options or [])]
        if unknown or not chosen or (len(chosen) > 1 and not row.multiple):
            raise HTTPError(400, f"Responses {chosen} not in {row.options} or multiple selections are not allowed"
                            if unknown or chosen else "chosen_options must not be empty")
        now = utcnow()
        who = {"id": user, "name": user}
        conn.execute(update(hitl_detail).where(hitl_detail.c.ti_id == row.id).values(
            responded_at=now, responded_by=who, chosen_options=chosen, params_input=params_input))
        actions.record(conn, request, "update_hitl_detail", dag_id=p["dag_id"], run_id=p["dag_run_id"],
                       task_id=p["task_id"], map_index=map_index)
    return {"responded_by": who, "responded_at": serializers.iso(now), "chosen_options": chosen,
            "params_input": params_input}


def get_hitl_try(services, request):
    p = request.path_params
    map_index = path_int(request, "map_index")
    number = path_int(request, "try_number")
    from .queries import versions_by_id

    with services.engine.connect() as conn:
        current = conn.execute(_with_requests().where(
            task_instance.c.dag_id == p["dag_id"], task_instance.c.run_id == p["dag_run_id"],
            task_instance.c.task_id == p["task_id"], task_instance.c.map_index == map_index,
            task_instance.c.try_number == number)).first()
        if current is None:
            h = task_instance_history
            current = conn.execute(
                select(h, *[c for c in hitl_detail_history.c if c.name != "ti_history_id"])
                .join(hitl_detail_history, hitl_detail_history.c.ti_history_id == h.c.id)
                .where(h.c.dag_id == p["dag_id"], h.c.run_id == p["dag_run_id"], h.c.task_id == p["task_id"],
                       h.c.map_index == map_index, h.c.try_number == number)).first()
        if current is None:
            raise not_found(f"Human-in-the-loop detail does not exist for Task Instance with dag_id: "
                            f"`{p['dag_id']}`, run_id: `{p['dag_run_id']}`, task_id: `{p['task_id']}`, "
                            f"map_index: `{map_index}` and try_number: `{number}`")
        version = versions_by_id(conn, [current.dag_version_id]).get(current.dag_version_id)
    return {**request_fields(current), "task_instance": try_body(current, version)}


_TI = "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}"

ROUTES = [
    ("/dags/{dag_id}/dagRuns/{dag_run_id}/hitlDetails", ["GET"], list_hitl),
    (_TI + "/{map_index}/hitlDetails", ["GET"], get_hitl),
    (_TI + "/{map_index}/hitlDetails", ["PATCH"], answer_hitl),
    (_TI + "/{map_index}/hitlDetails/tries/{try_number}", ["GET"], get_hitl_try),
]
