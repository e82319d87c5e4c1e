"""GET /dags/{dag_id}/dagRuns (dag_id `~` = every DAG), GET one run, POST = trigger."""

from __future__ import annotations

from sqlalchemy import Text, select, type_coerce
from sqlalchemy.exc import IntegrityError

from ..store import dags as store_dags
from ..store import runs as store_runs
from ..store.tables import dag_run
from ..store.types import utcnow
from . import queries, serializers
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
}

_TRIGGER_FIELDS = {"dag_run_id", "data_interval_start", "data_interval_end", "logical_date", "run_after",
                   "conf", "note", "partition_key"}


def run_not_found(dag_id: str, run_id: str):
    return not_found(f"The DagRun with dag_id: `{dag_id}` and run_id: `{run_id}` was not found")


def run_bodies(conn, rows) -> list[dict]:
    versions = queries.versions_of_runs(conn, rows)
    return [serializers.dag_run(r, versions.get((r.dag_id, r.run_id), [])) for r in rows]


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
    if not body.errors and (body.data.get("data_interval_start") is None) != (body.data.get("data_interval_end") is None):
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
        try:
            created = store_runs.create_dag_run(
                conn, data, dag_version_id=version_id, run_type="manual", run_after=run_after,
                logical_date=logical_date, data_interval=interval, run_id=run_id, conf=conf,
                triggered_by=triggered_by, triggering_user_name=user.username, note=note,
            )
        except (store_runs.RunExists, IntegrityError) as exc:
            raise HTTPError(409, {
                "reason": "Unique constraint violation",
                "statement": "hidden",
                "orig_error": "hidden",
                "message": str(exc) if isinstance(exc, store_runs.RunExists)
                else f"A DAG run of DAG '{dag_id}' with this run_id or logical date already exists",
            })
        row = store_runs.get_run(conn, dag_id, created["run_id"])
        result = run_bodies(conn, [row])[0]
    services.bus.notify_scheduler(kind="run_created", dag_id=dag_id, run_id=row.run_id)
    return result


ROUTES = [
    ("/dags/{dag_id}/dagRuns", ["GET"], list_runs),
    ("/dags/{dag_id}/dagRuns", ["POST"], trigger_run),
    ("/dags/{dag_id}/dagRuns/{dag_run_id}", ["GET"], get_run),
]
