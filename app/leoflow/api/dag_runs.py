"""DAG runs: list (dag_id `~` = every DAG), get, trigger, patch state/note, delete, clear, asset events."""

from __future__ import annotations

from sqlalchemy import Text, delete, select, type_coerce, update
from sqlalchemy.exc import IntegrityError

from ..store import dags as store_dags
from ..store import runs as store_runs
from ..store.tables import (
    asset,
    asset_event,
    dag_run,
    dagrun_asset_event,
    dag_version,
    rendered_task_instance_fields,
    task_instance,
    task_instance_history,
    xcom,
)
from ..store.types import utcnow
from . import actions, clearing, params, queries, serializers
from .dags import dag_not_found
from .errors import HTTPError, not_found
from .validate import Body, Query, json_body

RUN_STATES = ("queued", "running", "success", "failed")
DATE_FILTERS = ("run_after", "logical_date", "start_date", "end_date", "updated_at")

_ORDER = {
    "id": dag_run.c.id,
    "state": dag_run.c.state,
    "dag_id": dag_run.c.dag_id,
    "run_id": dag_run.c.run_id,
    "dag_run_id": dag_run.c.run_id,
    "logical_date": dag_run.c.logical_date,
    "run_after": dag_run.c.run_after,
    "start_date": dag_run.c.start_date,
    "end_date": dag_run.c.end_date,
    "updated_at": dag_run.c.updated_at,
    "conf": dag_run.c.conf,
    "duration": queries.seconds_between(dag_run.c.start_date, dag_run.c.end_date),
}

_TRIGGER_FIELDS = {"dag_run_id", "data_interval_start", "data_interval_end", "logical_date", "run_after",
                   "conf", "note", "partition_key"}


def run_not_found(dag_id: str, run_id: str):
    return not_found(f"The DagRun with dag_id: `{dag_id}` and run_id: `{run_id}` was not found")


def run_bodies(conn, rows) -> list[dict]:
    versions = queries.versions_of_runs(conn, rows)
    return queries.with_display_names(conn, [serializers.dag_run(r, versions.get((r.dag_id, r.run_id), []))
                                             for r in rows])


def list_runs(services, request):
    dag_id = request.path_params["dag_id"]
    q = Query(request)
    limit, offset = q.paging()
    query = queries.date_range(q, select(dag_run), dag_run, DATE_FILTERS)
    states = q.list("state")
    for s in states:
        if s not in RUN_STATES:
            q.fail("state", "Input should be 'queued', 'running', 'success' or 'failed'", s, "enum",
                   {"expected": "'queued', 'running', 'success' or 'failed'"})
    q.done()
    if states:
        query = query.where(dag_run.c.state.in_(states))
    if q.list("run_type"):
        query = query.where(dag_run.c.run_type.in_(q.list("run_type")))
    for column, param in ((dag_run.c.run_id, "run_id_pattern"), (dag_run.c.dag_id, "dag_id_pattern"),
                          (dag_run.c.triggering_user_name, "triggering_user_name_pattern")):
        if (cond := queries.like_any(column, q.str(param))) is not None:
            query = query.where(cond)
    if q.str("conf_contains"):
        query = query.where(type_coerce(dag_run.c.conf, Text).contains(q.str("conf_contains")))
    duration = _ORDER["duration"]
    for suffix, op in (("gte", "__ge__"), ("gt", "__gt__"), ("lte", "__le__"), ("lt", "__lt__")):
        if (value := q.float(f"duration_{suffix}")) is not None:
            query = query.where(dag_run.c.end_date.is_not(None), getattr(duration, op)(value))
    numbers = [int(v) for v in q.list("dag_version") if v.strip().lstrip("-").isdigit()]
    numbers = [n for n in numbers if q._int64("dag_version", n, n)]
    if q.list("dag_version"):
        query = query.where(dag_run.c.created_dag_version_id.in_(
            select(dag_version.c.id).where(dag_version.c.version_number.in_(numbers))))
    if q.list("bundle_version"):
        query = query.where(dag_run.c.bundle_version.in_(q.list("bundle_version")))
    q.done()
    query = queries.ordered(query, q.list("order_by"), _ORDER, ["id"], tiebreak=dag_run.c.id)
    with services.engine.connect() as conn:
        if dag_id != "~":
            if store_dags.get_dag(conn, dag_id) is None:
                raise dag_not_found(dag_id)
            query = query.where(dag_run.c.dag_id == dag_id)
        rows, total = queries.page(conn, query, limit, offset)
        return {"dag_runs": run_bodies(conn, rows), "total_entries": total}


def get_run(services, request):
    dag_id, run_id = request.path_params["dag_id"], request.path_params["dag_run_id"]
    with services.engine.connect() as conn:
        row = store_runs.get_run(conn, dag_id, run_id)
        if row is None:
            raise run_not_found(dag_id, run_id)
        return run_bodies(conn, [row])[0]


def trigger_run(services, request):
    dag_id = request.path_params["dag_id"]
    body = Body(json_body(request), allowed=_TRIGGER_FIELDS, required={"logical_date"})
    run_id = body.str("dag_run_id")
    logical_date = body.datetime("logical_date")
    run_after = body.datetime("run_after")
    start, end = body.datetime("data_interval_start"), body.datetime("data_interval_end")
    conf = body.dict("conf")
    note = body.str("note")
    body.str("partition_key")
    one_sided = (body.data.get("data_interval_start") is None) != (body.data.get("data_interval_end") is None)
    if not body.errors and one_sided:
        body.errors.append({"type": "value_error", "loc": ["body"], "input": body.data,
                            "msg": "Value error, Either both data_interval_start and data_interval_end must be "
                                   "provided or both must be None",
                            "ctx": {"error": {}}})
    body.done()

    run_after = run_after or utcnow()
    interval = None
    if logical_date is not None:
        # Without a timetable at hand, a manual run covers just its logical date (Airflow's
        # NullTimetable does the same); an explicit interval wins.
        interval = (start, end) if start and end else (logical_date, logical_date)
    user = request.state.user
    triggered_by = "ui" if request.headers.get("referer") else "rest_api"
    with services.engine.begin() as conn:
        dag_row = store_dags.get_dag(conn, dag_id)
        latest = store_dags.latest_serialized(conn, dag_id) if dag_row is not None and not dag_row.is_stale else None
        if latest is None:
            raise HTTPError(404, f"DAG with dag_id: '{dag_id}' not found")
        if dag_row.has_import_errors:
            raise HTTPError(400, f"DAG with dag_id: '{dag_id}' has import errors and cannot be triggered")
        version_id, data = latest
        problem = params.check_conf(data, conf)
        if problem:
            raise HTTPError(400, problem)
        try:
            created = store_runs.create_dag_run(
                conn, data, dag_version_id=version_id, run_type="manual", run_after=run_after,
                logical_date=logical_date, data_interval=interval,
                # Airflow names manual runs after when they were triggered, even with a logical date.
                run_id=run_id or store_runs.make_run_id("manual", run_after), conf=conf,
                triggered_by=triggered_by, triggering_user_name=user.username, note=note,
            )
        except store_runs.InvalidRunId as exc:  # Airflow's answer to a run id outside its pattern
            raise HTTPError(400, str(exc)) from None
        except (store_runs.RunExists, IntegrityError) as exc:
            raise HTTPError(409, {
                "reason": "Unique constraint violation",
                "statement": "hidden",
                "orig_error": "hidden",
                "message": str(exc) if isinstance(exc, store_runs.RunExists)
                else f"A DAG run of DAG '{dag_id}' with this run_id or logical date already exists",
            })
        row = store_runs.get_run(conn, dag_id, created["run_id"])
        actions.record(conn, request, "trigger_dag_run", dag_id=dag_id)
        result = run_bodies(conn, [row])[0]
    services.bus.notify_scheduler(kind="run_created", dag_id=dag_id, run_id=row.run_id)
    return result


def _run_or_404(conn, dag_id, run_id):
    row = store_runs.get_run(conn, dag_id, run_id)
    if row is None:
        raise run_not_found(dag_id, run_id)
    return row


UNFINISHED_TI = (None, "scheduled", "queued", "up_for_retry", "up_for_reschedule", "deferred", "restarting")


def set_run_state(conn, run, state: str) -> None:
    """Mark a run as Airflow's UI/API does: success finishes every task; failed stops the unfinished."""
    now = utcnow()
    ti = task_instance
    of_run = (ti.c.dag_id == run.dag_id) & (ti.c.run_id == run.run_id)
    unfinished = ti.c.state.in_([s for s in UNFINISHED_TI if s]) | ti.c.state.is_(None)
    if state == "success":  # every task instance, failed ones too
        conn.execute(update(ti).where(of_run, (ti.c.state != "success") | ti.c.state.is_(None))
                     .values(state="success", end_date=now, updated_at=now))
    elif state == "failed":
        conn.execute(update(ti).where(of_run, ti.c.state == "running")
                     .values(state="failed", end_date=now, updated_at=now))
        conn.execute(update(ti).where(of_run, unfinished).values(state="skipped", end_date=now, updated_at=now))
    values = {"state": state, "updated_at": now}
    if state in ("success", "failed"):
        values["end_date"] = now
        values["start_date"] = run.start_date or now
    else:
        values.update(queued_at=now, end_date=None)
    conn.execute(update(dag_run).where(dag_run.c.id == run.id).values(**values))


def patch_run(services, request):
    dag_id, run_id = request.path_params["dag_id"], request.path_params["dag_run_id"]
    q = Query(request)
    mask = q.list("update_mask")
    q.done()
    body = Body(json_body(request), allowed={"state", "note"})
    state = body.choice("state", ["queued", "success", "failed"])
    note = body.str("note", max_length=1000)  # as Airflow's DAGRunPatchBody
    body.done()
    for name in mask:
        if name not in ("state", "note"):
            raise HTTPError(400, f"Invalid field `{name}` in update mask")
    fields = [f for f in ("state", "note") if f in body.data and (not mask or f in mask)]
    with services.engine.begin() as conn:
        run = _run_or_404(conn, dag_id, run_id)
        if "state" in fields and state is not None and state != run.state:
            set_run_state(conn, run, state)
        if "note" in fields:
            conn.execute(update(dag_run).where(dag_run.c.id == run.id).values(note=note, updated_at=utcnow()))
        actions.record(conn, request, "patch_dag_run", dag_id=dag_id, run_id=run_id)
        result = run_bodies(conn, [store_runs.get_run(conn, dag_id, run_id)])[0]
    services.bus.notify_scheduler(kind="run_changed", dag_id=dag_id, run_id=run_id)
    return result


def delete_run(services, request):
    dag_id, run_id = request.path_params["dag_id"], request.path_params["dag_run_id"]
    with services.engine.begin() as conn:
        run = _run_or_404(conn, dag_id, run_id)
        if run.state not in ("queued", "success", "failed"):
            raise HTTPError(409, f"The DagRun with dag_id: `{dag_id}` and run_id: `{run_id}` cannot be deleted in "
                                 f"{run.state} state")
        for table in (xcom, rendered_task_instance_fields, task_instance_history, task_instance):
            conn.execute(delete(table).where(table.c.dag_id == dag_id, table.c.run_id == run_id))
        conn.execute(delete(dag_run).where(dag_run.c.id == run.id))
        actions.record(conn, request, "delete_dag_run", dag_id=dag_id, run_id=run_id)
    from starlette.responses import Response

    return Response(status_code=204)


def clear_run(services, request):
    """POST .../clear: dry_run (the default) lists what would be cleared; otherwise clears and returns the run."""
    dag_id, run_id = request.path_params["dag_id"], request.path_params["dag_run_id"]
    body = Body(json_body(request), allowed={"dry_run", "only_failed", "run_on_latest_version"})
    dry_run = body.flag("dry_run", True)
    only_failed = body.flag("only_failed", False)
    latest = body.flag("run_on_latest_version", False)
    body.done()
    with services.engine.begin() as conn:
        _run_or_404(conn, dag_id, run_id)
        found = store_dags.latest_serialized(conn, dag_id)
        if found is None:
            raise dag_not_found(dag_id)
        version_id, data = found
        rows = clearing.select_tis(conn, dag_id, run_filter=dag_run.c.run_id == run_id,
                                   states=list(clearing.FAILED_STATES) if only_failed else None)
        if dry_run:
            from .task_instances import ti_bodies

            return {"task_instances": ti_bodies(conn, rows), "total_entries": len(rows)}
        clearing.clear(conn, rows, data, latest_version_id=version_id if latest else None)
        if not rows:  # nothing to clear still sets the run going again, as Airflow does
            clearing.queue_runs(conn, dag_id, [run_id])
        actions.record(conn, request, "clear_dag_run", dag_id=dag_id, run_id=run_id)
        result = run_bodies(conn, [store_runs.get_run(conn, dag_id, run_id)])[0]
    services.bus.notify_scheduler(kind="run_created", dag_id=dag_id, run_id=run_id)
    return result


def asset_event_body(event, asset_row, created: list) -> dict:
    """AssetEventResponse."""
    return {
        "id": event.id,
        "asset_id": event.asset_id,
        "uri": asset_row.uri if asset_row else None,
        "name": asset_row.name if asset_row else None,
        "group": asset_row.group if asset_row else None,
        "extra": event.extra,
        "source_task_id": event.source_task_id,
        "source_dag_id": event.source_dag_id,
        "source_run_id": event.source_run_id,
        "source_map_index": event.source_map_index if event.source_map_index is not None else -1,
        "created_dagruns": created,
        "timestamp": serializers.iso(event.timestamp),
        "partition_key": None,
    }


def run_reference(run) -> dict:
    """DagRunAssetReference."""
    return {
        "run_id": run.run_id, "dag_id": run.dag_id, "logical_date": serializers.iso(run.logical_date),
        "start_date": serializers.iso(run.start_date or run.queued_at or run.run_after),
        "end_date": serializers.iso(run.end_date), "state": run.state,
        "data_interval_start": serializers.iso(run.data_interval_start),
        "data_interval_end": serializers.iso(run.data_interval_end), "partition_key": None,
    }


def upstream_asset_events(services, request):
    """The asset events that triggered this run."""
    dag_id, run_id = request.path_params["dag_id"], request.path_params["dag_run_id"]
    with services.engine.connect() as conn:
        run = _run_or_404(conn, dag_id, run_id)
        events = conn.execute(
            select(asset_event).join(dagrun_asset_event, dagrun_asset_event.c.event_id == asset_event.c.id)
            .where(dagrun_asset_event.c.dag_run_id == run.id).order_by(asset_event.c.timestamp)).all()
        assets = {a.id: a for a in conn.execute(select(asset).where(
            asset.c.id.in_({e.asset_id for e in events} or {-1})))}
        bodies = []
        for event in events:
            created = conn.execute(
                select(dag_run).join(dagrun_asset_event, dagrun_asset_event.c.dag_run_id == dag_run.c.id)
                .where(dagrun_asset_event.c.event_id == event.id)).all()
            bodies.append(asset_event_body(event, assets.get(event.asset_id), [run_reference(r) for r in created]))
    return {"asset_events": bodies, "total_entries": len(bodies)}


ROUTES = [
    ("/dags/{dag_id}/dagRuns", ["GET"], list_runs),
    ("/dags/{dag_id}/dagRuns", ["POST"], trigger_run),
    ("/dags/{dag_id}/dagRuns/{dag_run_id}", ["GET"], get_run),
    ("/dags/{dag_id}/dagRuns/{dag_run_id}", ["PATCH"], patch_run),
    ("/dags/{dag_id}/dagRuns/{dag_run_id}", ["DELETE"], delete_run),
    ("/dags/{dag_id}/dagRuns/{dag_run_id}/clear", ["POST"], clear_run),
    ("/dags/{dag_id}/dagRuns/{dag_run_id}/upstreamAssetEvents", ["GET"], upstream_asset_events),
]
