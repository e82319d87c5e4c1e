"""Execution API: a task instance's life and what a task may ask about task instances.

Its own try: `PATCH .../run` (queued → running, the run's context back), `PATCH .../state` (final,
deferred or up_for_reschedule), `PUT .../heartbeat`, `PUT .../rtif`, `PATCH .../skip-downstream`,
`PATCH .../rendered-map-index`, `GET .../previous-successful-dagrun`.
Others (ExternalTaskSensor, `get_previous_ti`, breadcrumbs): `GET /task-instances/count`, `/states`,
`/previous/{dag_id}/{task_id}`, `/breadcrumbs`.
"""

from __future__ import annotations

from sqlalchemy import or_, select, update

from .. import metrics
from ..store import audit, dags as dag_store, runs, task_map, tis, xcoms
from ..store.engine import upsert_insert
from ..store.tables import dag_run, rendered_task_instance_fields, task_instance as TI
from ..store.types import utcnow
from . import versions
from .assets import consumed_event_bodies, register_success_outlets
from .dag_runs import run_body
from .http import (HTTPError, no_content, not_found, parse_query_time, parse_time, query_int, query_list,
                   query_required, query_time, require_fields, respond)
from .waiting import WAITING_STATES, run_context, update_waiting_state

TERMINAL = {"success", "failed", "skipped", "removed", "up_for_retry"}
# A skip never overwrites a task that already started or finished (as in Airflow 3.2.1).
NOT_SKIPPABLE = ("running", "success", "failed")
# The states breadcrumbs list (Airflow's TerminalTIState).
BREADCRUMB_STATES = ("success", "failed", "skipped", "upstream_failed", "removed")


# --- the try's own life ----------------------------------------------------------------------------


def run(call, task_instance_id):
    body = require_fields(call.body, {"state": str, "hostname": str, "unixname": str, "pid": int,
                                      "start_date": str})
    start = parse_time(body["start_date"], "start_date")
    with call.engine.begin() as conn:
        ti = tis.get_ti(conn, task_instance_id)
        if ti is None:
            raise not_found("Task Instance not found")
        same_process = (ti.hostname, ti.unixname, ti.pid) == (body["hostname"], body["unixname"], body["pid"])
        # A slow starter (a pod) whose try was cleared and queued again meanwhile must not take the new try.
        if _other_try(ti, call.claims) or not (ti.state in ("queued", "restarting")
                                               or (ti.state == "running" and same_process)):
            raise HTTPError(409, {"reason": "invalid_state",
                                  "message": "TI was not in a state where it could be marked as running",
                                  "previous_state": ti.state})
        now = utcnow()
        resuming = bool(ti.next_method)  # back from a deferral: keep its start and its XComs
        # Compare-and-set on the state just read: of two processes starting one try at once (a hand-over
        # that looked lost and was made again), exactly one gets it; the other is answered 409.
        if not tis.start_try(conn, task_instance_id, ti.state, ti.try_number, hostname=body["hostname"],
                             unixname=body["unixname"], pid=body["pid"],
                             start_date=ti.start_date if resuming and ti.start_date else start, end_date=None,
                             last_heartbeat_at=now, updated_at=now):
            raise HTTPError(409, {"reason": "invalid_state",
                                  "message": "TI was not in a state where it could be marked as running",
                                  "previous_state": "running"})
        if not resuming:
            metrics.try_started(ti.queued_dttm, start)
        # A new try starts from a clean slate: the previous try's XComs are gone.
        if not resuming:
            task_map.clear_outputs(conn, ti.dag_id, ti.run_id, ti.task_id, ti.map_index)
        dag_run_row = runs.get_run(conn, ti.dag_id, ti.run_id)
        if dag_run_row.state == "queued":
            runs.set_run_state(conn, ti.dag_id, ti.run_id, "running", start_date=now)
        audit.record(conn, "running", dag_id=ti.dag_id, task_id=ti.task_id, run_id=ti.run_id,
                     map_index=ti.map_index, try_number=ti.try_number, logical_date=dag_run_row.logical_date,
                     extra={"host_name": body["hostname"]})
        # Only an asset-triggered run consumed asset events (the scheduler links them as it creates the run).
        consumed = consumed_event_bodies(conn, dag_run_row.id) if dag_run_row.run_type == "asset_triggered" else []
        dag_run_body = {**run_body(dag_run_row), "consumed_asset_events": consumed}
        if dag_run_row.state == "queued":
            dag_run_body.update(state="running", start_date=now)
        waiting_context = run_context(conn, ti)  # reschedule count, where a deferral resumes
    return respond(versions.run_context_for(call.version, {
        "dag_run": dag_run_body,
        "task_reschedule_count": 0,
        "max_tries": ti.max_tries,
        "variables": [],
        "connections": [],
        "next_method": None,
        "next_kwargs": None,
        "xcom_keys_to_clear": [],
        "should_retry": ti.try_number <= ti.max_tries,
        **waiting_context,
    }))


def update_state(call, task_instance_id):
    body = require_fields(call.body, {"state": str})
    state = body["state"]
    rendered = body.get("rendered_fields")  # Leoflow's runner sends them here rather than by PUT .../rtif
    if rendered is not None and not isinstance(rendered, dict):
        raise HTTPError(422, [{"type": "dict_type", "loc": ["body", "rendered_fields"],
                               "msg": "Input should be a valid dictionary", "input": rendered}])
    if state in WAITING_STATES:
        return _update_waiting(call, task_instance_id, body, rendered)
    if state not in TERMINAL:
        raise HTTPError(422, [{"type": "literal_error", "loc": ["body", "state"],
                               "msg": f"Input should be one of {sorted(TERMINAL)}", "input": state}])
    end = parse_time(body["end_date"], "end_date") if body.get("end_date") else utcnow()
    with call.engine.begin() as conn:
        ti = running_ti(conn, task_instance_id, call.claims)
        if state == "up_for_retry" and ti.try_number > ti.max_tries:
            state = "failed"  # the runner asked for a retry it has no right to
        if tis.finish_try(conn, task_instance_id, state, end, only_if=("running",), current=ti):
            metrics.try_finished(state, ti.start_date, end)
        if rendered is not None:
            store_rendered_fields(conn, ti, rendered)
        _store_return_value(conn, ti, body)
        if state == "failed":
            _stop_remaining_if_fail_fast(conn, ti)
        if state == "success":  # outlets become asset events
            register_success_outlets(conn, ti, body)
        if body.get("rendered_map_index") is not None:
            tis.update_ti(conn, task_instance_id, rendered_map_index=str(body["rendered_map_index"]))
        audit.record(conn, state, dag_id=ti.dag_id, task_id=ti.task_id, run_id=ti.run_id,
                     map_index=ti.map_index, try_number=ti.try_number)
    call.notify_scheduler("ti_finished", dag_id=ti.dag_id, run_id=ti.run_id)
    return no_content()


def _store_return_value(conn, ti, body) -> None:
    """Leoflow's runner sends the try's return value with its final state rather than by POST .../xcoms:
    stored here as that POST stores it, in the state's transaction."""
    if "return_value" in body:
        xcoms.set(conn, ti.dag_id, ti.run_id, ti.task_id, "return_value", body["return_value"], ti.map_index)


def _update_waiting(call, task_instance_id, body, rendered):
    with call.engine.begin() as conn:
        ti = running_ti(conn, task_instance_id, call.claims)
        state = update_waiting_state(conn, ti, body)
        if rendered is not None:
            store_rendered_fields(conn, ti, rendered)
        _store_return_value(conn, ti, body)
        audit.record(conn, state, dag_id=ti.dag_id, task_id=ti.task_id, run_id=ti.run_id,
                     map_index=ti.map_index, try_number=ti.try_number)
    call.notify_scheduler(f"ti_{state}", dag_id=ti.dag_id, run_id=ti.run_id)
    return no_content()


def heartbeat(call, task_instance_id):
    body = require_fields(call.body, {"hostname": str, "pid": int})
    with call.engine.begin() as conn:
        ti = tis.get_ti(conn, task_instance_id)
        if ti is None:
            raise not_found("Task Instance not found")
        if ti.state != "running":
            raise HTTPError(409, {"reason": "not_running", "message": "TI is no longer in the running state "
                                  "and task should terminate", "current_state": ti.state})
        if (ti.hostname, ti.pid) != (body["hostname"], body["pid"]):
            raise HTTPError(409, {"reason": "running_elsewhere", "message": "TI is already running elsewhere",
                                  "current_hostname": ti.hostname, "current_pid": ti.pid})
        tis.update_ti(conn, task_instance_id, last_heartbeat_at=utcnow())
    return no_content()


def put_rtif(call, task_instance_id):
    if not isinstance(call.body, dict):
        raise HTTPError(422, [{"type": "dict_type", "loc": ["body"], "msg": "Input should be a valid dictionary",
                               "input": call.body}])
    with call.engine.begin() as conn:
        ti = tis.get_ti(conn, task_instance_id)
        if ti is None:
            raise not_found("Task Instance not found")
        store_rendered_fields(conn, ti, call.body)
    return respond({"message": "Rendered task instance fields successfully set"}, 201)


def skip_downstream(call, task_instance_id):
    body = call.body
    tasks = body.get("tasks") if isinstance(body, dict) else None
    if not isinstance(tasks, list):
        raise HTTPError(422, [{"type": "missing" if not isinstance(body, dict) or "tasks" not in body
                               else "list_type", "loc": ["body", "tasks"], "msg": "Input should be a valid list",
                               "input": body}])
    keys = []
    for i, item in enumerate(tasks):
        if isinstance(item, str):
            keys.append((item, -1))
        elif (isinstance(item, (list, tuple)) and len(item) == 2 and isinstance(item[0], str)
              and isinstance(item[1], int)):
            keys.append((item[0], item[1]))
        else:
            raise HTTPError(422, [{"type": "union_tag_invalid", "loc": ["body", "tasks", i],
                                   "msg": "Input should be a task id or a [task_id, map_index] pair",
                                   "input": item}])
    with call.engine.begin() as conn:
        ti = tis.get_ti(conn, task_instance_id)
        if ti is None:
            raise not_found("Task Instance not found")
        now = utcnow()
        for task_id, map_index in keys:
            conn.execute(update(TI).where(
                TI.c.dag_id == ti.dag_id, TI.c.run_id == ti.run_id, TI.c.task_id == task_id,
                TI.c.map_index == map_index, or_(TI.c.state.is_(None), TI.c.state.not_in(NOT_SKIPPABLE)),
            ).values(state="skipped", start_date=now, end_date=now, duration=0.0, updated_at=now))
    call.notify_scheduler("ti_skipped_downstream", dag_id=ti.dag_id, run_id=ti.run_id)
    return no_content()


def rendered_map_index(call, task_instance_id):
    if not isinstance(call.body, str) or not call.body:
        raise HTTPError(422, "rendered_map_index cannot be empty")
    with call.engine.begin() as conn:
        done = conn.execute(update(TI).where(TI.c.id == task_instance_id)
                            .values(rendered_map_index=call.body)).rowcount
    if not done:
        raise not_found("Task Instance not found")
    return no_content()


def previous_successful_dagrun(call, task_instance_id):
    with call.engine.connect() as conn:
        ti = tis.get_ti(conn, task_instance_id)
        if ti is None:
            raise not_found("Task Instance not found")
        this = conn.execute(select(dag_run.c.logical_date).where(
            dag_run.c.dag_id == ti.dag_id, dag_run.c.run_id == ti.run_id)).first()
        row = None
        if this is not None and this.logical_date is not None:
            row = conn.execute(select(dag_run).where(
                dag_run.c.dag_id == ti.dag_id, dag_run.c.state == "success",
                dag_run.c.logical_date < this.logical_date).order_by(dag_run.c.logical_date.desc()).limit(1)
            ).first()
    keys = ("data_interval_start", "data_interval_end", "start_date", "end_date")
    return respond({k: getattr(row, k) if row is not None else None for k in keys})


def _other_try(ti, claims: dict | None) -> bool:
    """The token is an earlier try's (the try was cleared and queued again meanwhile): that try is not this one."""
    wanted = (claims or {}).get("try_number")
    return wanted is not None and wanted != ti.try_number


def running_ti(conn, task_instance_id: str, claims: dict | None = None):
    """The task instance a final or waiting state is reported for: 404 if unknown, 409 if not running (or
    running another try than the token's)."""
    ti = tis.get_ti(conn, task_instance_id)
    if ti is None:
        raise not_found("Task Instance not found")
    if ti.state != "running" or _other_try(ti, claims):
        raise HTTPError(409, {"reason": "invalid_state",
                              "message": "TI was not in the running state so it cannot be updated",
                              "previous_state": ti.state})
    return ti


def store_rendered_fields(conn, ti, fields: dict) -> None:
    """This try's rendered template fields replace any stored for the task instance (one upsert)."""
    conn.execute(_rtif_upsert(conn.dialect.name), dict(dag_id=ti.dag_id, task_id=ti.task_id, run_id=ti.run_id,
                                                        map_index=ti.map_index, rendered_fields=fields))


def _rtif_upsert(dialect: str):
    """Built once per dialect: every task stores its rendered fields."""
    if dialect not in _RTIF_UPSERTS:
        insert = upsert_insert(dialect)
        stmt = insert(rendered_task_instance_fields)
        table = rendered_task_instance_fields
        _RTIF_UPSERTS[dialect] = stmt.on_conflict_do_update(
            index_elements=[table.c.dag_id, table.c.task_id, table.c.run_id, table.c.map_index],
            set_={"rendered_fields": stmt.excluded.rendered_fields})
    return _RTIF_UPSERTS[dialect]


_RTIF_UPSERTS: dict = {}


def _stop_remaining_if_fail_fast(conn, ti) -> None:
    """A DAG with `fail_fast=True`: one failure fails the running tasks and skips the rest (not teardowns)."""
    doc = dag_store.serialized_by_version(conn, ti.dag_version_id) if ti.dag_version_id else None
    if not doc or not doc.get("fail_fast"):
        return
    teardowns = {t["task_id"] for t in doc.get("tasks", []) if t.get("is_teardown")}
    now = utcnow()
    others = conn.execute(select(TI.c.id, TI.c.task_id, TI.c.state).where(
        TI.c.dag_id == ti.dag_id, TI.c.run_id == ti.run_id, TI.c.task_id != ti.task_id)).all()
    for other in others:
        if other.state in ("success", "failed") or other.task_id in teardowns:
            continue
        state = "failed" if other.state == "running" else "skipped"
        conn.execute(update(TI).where(TI.c.id == other.id).values(state=state, end_date=now, updated_at=now))


# --- other task instances ----------------------------------------------------------------------------


def _dag_id_of(request) -> str:
    dag_id = request.query_params.get("dag_id")
    if not dag_id:
        raise HTTPError(422, [{"type": "missing", "loc": ["query", "dag_id"], "msg": "Field required",
                               "input": None}])
    return dag_id


def _ti_filter(conn, request, dag_id: str):
    q = select(TI.c.task_id, TI.c.map_index, TI.c.run_id, TI.c.state).join(
        dag_run, (dag_run.c.dag_id == TI.c.dag_id) & (dag_run.c.run_id == TI.c.run_id)
    ).where(TI.c.dag_id == dag_id)
    task_ids = query_list(request, "task_ids")
    group_id = request.query_params.get("task_group_id")
    if group_id:
        members = _group_tasks(conn, dag_id, group_id)
        task_ids = members if not task_ids else task_ids + members
    if task_ids:
        q = q.where(TI.c.task_id.in_(task_ids))
    map_index = query_int(request, "map_index")
    if map_index is not None:
        q = q.where(TI.c.map_index == map_index)
    if dates := _times(request, "logical_dates"):
        q = q.where(dag_run.c.logical_date.in_(dates))
    if run_ids := query_list(request, "run_ids"):
        q = q.where(dag_run.c.run_id.in_(run_ids))
    return q


def _times(request, name: str) -> list:
    return [parse_query_time(v, name) for v in query_list(request, name)]


def _group_tasks(conn, dag_id: str, group_id: str) -> list[str]:
    latest = dag_store.latest_serialized(conn, dag_id)
    groups = (latest[1].get("task_groups") or {}) if latest else {}
    if group_id not in groups:
        raise not_found(f"Task group {group_id} not found in DAG {dag_id}")
    inside = {group_id}
    changed = True
    while changed:  # nested groups count as part of their parent
        changed = False
        for gid, g in groups.items():
            if gid not in inside and g.get("parent_group_id") in inside:
                inside.add(gid)
                changed = True
    return [t["task_id"] for t in latest[1]["tasks"] if t.get("task_group_id") in inside]


def count(call):
    dag_id = _dag_id_of(call.request)
    with call.engine.connect() as conn:
        q = _ti_filter(conn, call.request, dag_id)
        if states := query_list(call.request, "states"):
            named = [s for s in states if s not in ("null", "none")]
            cond = TI.c.state.in_(named) if named else None
            if len(named) != len(states):
                cond = or_(TI.c.state.is_(None), cond) if cond is not None else TI.c.state.is_(None)
            q = q.where(cond)
        return respond(len(conn.execute(q).all()))


def states(call):
    dag_id = _dag_id_of(call.request)
    by_run: dict[str, dict] = {}
    with call.engine.connect() as conn:
        for row in conn.execute(_ti_filter(conn, call.request, dag_id)).all():
            key = row.task_id if row.map_index < 0 else f"{row.task_id}_{row.map_index}"
            by_run.setdefault(row.run_id, {})[key] = row.state
    return respond({"task_states": by_run})


def previous(call, dag_id, task_id):
    map_index = query_int(call.request, "map_index")
    query = (select(TI, dag_run.c.logical_date.label("run_logical_date"))
             .join(dag_run, (dag_run.c.dag_id == TI.c.dag_id) & (dag_run.c.run_id == TI.c.run_id))
             .where(TI.c.dag_id == dag_id, TI.c.task_id == task_id,
                    TI.c.map_index == (-1 if map_index is None else map_index)))
    before = query_time(call.request, "logical_date")
    if before is not None:
        query = query.where(dag_run.c.logical_date < before)
    if call.query.get("state"):
        query = query.where(TI.c.state == call.query["state"])
    with call.engine.connect() as conn:
        row = conn.execute(query.order_by(dag_run.c.logical_date.desc()).limit(1)).first()
    if row is None:
        return respond(None)
    return respond({"task_id": row.task_id, "dag_id": row.dag_id, "run_id": row.run_id,
                    "logical_date": row.run_logical_date, "start_date": row.start_date,
                    "end_date": row.end_date, "state": row.state, "try_number": row.try_number,
                    "map_index": row.map_index, "duration": row.duration})


def breadcrumbs(call):
    """The finished task instances of a run, in task and map-index order (Airflow 3.2's breadcrumbs)."""
    dag_id = query_required(call.request, "dag_id")
    run_id = query_required(call.request, "run_id")
    with call.engine.connect() as conn:
        rows = conn.execute(select(TI.c.task_id, TI.c.map_index, TI.c.state, TI.c.operator, TI.c.duration).where(
            TI.c.dag_id == dag_id, TI.c.run_id == run_id, TI.c.state.in_(BREADCRUMB_STATES))
            .order_by(TI.c.task_id, TI.c.map_index)).all()
    return respond({"breadcrumbs": [dict(r._mapping) for r in rows]})

