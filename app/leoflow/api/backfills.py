"""/backfills: runs for past logical dates of a scheduled DAG, created at once as queued `backfill` runs.

Creating a backfill writes the `backfill` row, one `backfill_dag_run` per logical date and
a `dag_run` (run_type `backfill`, state `queued`, `backfill_id` set) per date that gets a
run; the scheduler starts them like any queued run. A date that already has a run keeps
it unless `reprocess_behavior` asks to redo it (then that run is cleared and joins the
backfill), and is otherwise recorded with its reason ("already exists", "in flight").
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select, update

from ..scheduler import timetables
from ..store import dags as store_dags
from ..store import runs as store_runs
from ..store.tables import backfill, backfill_dag_run, dag, dag_run, task_instance, xcom
from ..store.types import utcnow
from . import admin_common as common
from . import queries
from .errors import HTTPError, ValidationFailed, invalid, not_found
from .serializers import iso
from .validate import Query, json_body, path_int

_ORDER = {name: backfill.c[name] for name in ("id", "dag_id", "from_date", "to_date", "created_at", "updated_at",
                                               "completed_at", "is_paused", "max_active_runs")}
_FIELDS = {"dag_id", "from_date", "to_date", "run_backwards", "dag_run_conf", "reprocess_behavior",
           "max_active_runs", "run_on_latest_version"}
REPROCESS = ("failed", "completed", "none")
_MAX_DATES = 10_000  # a guard against a minutely schedule over years


def serialize(row) -> dict:
    return {
        "id": row.id, "dag_id": row.dag_id, "from_date": iso(row.from_date), "to_date": iso(row.to_date),
        "dag_run_conf": row.dag_run_conf, "is_paused": bool(row.is_paused),
        "reprocess_behavior": row.reprocess_behavior, "max_active_runs": row.max_active_runs,
        "created_at": iso(row.created_at), "completed_at": iso(row.completed_at),
        "updated_at": iso(row.updated_at), "dag_display_name": row.dag_id,
    }


def logical_dates(data: dict, start: dt.datetime, end: dt.datetime) -> list[timetables.NextRun]:
    """The scheduled runs of the DAG whose logical dates fall in [start, end], in order."""
    plan = dict(data, catchup=True)
    first = timetables._parse(data.get("start_date"))
    schedule = (data.get("schedule") or {})
    if schedule.get("kind") == "timedelta" and first is not None and start > first:
        delta = dt.timedelta(seconds=float(schedule["value"]))
        steps = -(-(start - first) // delta)  # ceil: the first tick at or after `start`, on the DAG's grid
        plan["start_date"] = (first + steps * delta).isoformat()
    elif schedule.get("kind") == "cron":
        plan["start_date"] = max(first, start).isoformat() if first else start.isoformat()
    out, last = [], None
    while len(out) < _MAX_DATES:
        nxt = timetables.next_run(plan, last, end)
        if nxt is None or nxt.logical_date > end or (last is not None and nxt.logical_date <= last):
            break
        if nxt.logical_date >= start:
            out.append(nxt)
        last = nxt.logical_date
    return out


def _read_request(request) -> dict:
    data = json_body(request)
    f = common.body_fields(data, allowed=_FIELDS, required={"dag_id", "from_date", "to_date"})
    body = {
        "dag_id": f.text("dag_id", required=True),
        # Naive dates mean UTC, as in the rest of the API.
        "from_date": f._datetime("from_date", f.data.get("from_date"), aware=False),
        "to_date": f._datetime("to_date", f.data.get("to_date"), aware=False),
        "run_backwards": f.boolean("run_backwards") or False,
        "dag_run_conf": f.dict("dag_run_conf") or {},
        "max_active_runs": f.integer("max_active_runs", ge=1) or 10,
        "run_on_latest_version": f.boolean("run_on_latest_version"),
    }
    behavior = data.get("reprocess_behavior", "none") if isinstance(data, dict) else "none"
    if behavior not in REPROCESS:
        f.fail("reprocess_behavior", "Input should be 'failed', 'completed' or 'none'", behavior, "enum",
               {"expected": "'failed', 'completed' or 'none'"})
    body["reprocess_behavior"] = behavior
    for name in ("from_date", "to_date"):  # both required and not nullable, as in Airflow's BackfillPostBody
        if name in f.data and f.data[name] is None:
            f.fail(name, "Input should be a valid datetime", None, "datetime_type")
    f.done()
    if body["from_date"] > body["to_date"]:
        raise ValidationFailed([invalid(["body", "to_date"], "Value error, to_date must be on or after from_date",
                                        data.get("to_date"), "value_error")])
    return body


def _plan(conn, body: dict):
    """(serialized DAG, version id, [(NextRun, existing run row or None, reason it is skipped or None)])."""
    dag_id = body["dag_id"]
    row = conn.execute(select(dag).where(dag.c.dag_id == dag_id)).first()
    latest = store_dags.latest_serialized(conn, dag_id) if row is not None and not row.is_stale else None
    if latest is None:
        raise not_found(f"Could not find dag {dag_id}")
    version_id, data = latest
    # Airflow reports these as validation errors of the body, not as a failed request.
    def refuse(msg):
        raise ValidationFailed([invalid(["body"], msg, None, "value_error")])

    depends_on_past = any(t.get("depends_on_past") for t in data.get("tasks", []))
    if depends_on_past and body["run_backwards"]:
        refuse("Backfill cannot be run in reverse when the Dag has tasks where depends_on_past=True.")
    if depends_on_past and body["reprocess_behavior"] == "none":
        refuse("Dag has tasks for which depends_on_past=True. You must set reprocess behavior to reprocess "
               "completed or reprocess failed.")
    now = utcnow()
    if body["from_date"] >= now and body["to_date"] >= now:
        refuse("Backfill cannot be executed for future dates.")
    kind = (data.get("schedule") or {}).get("kind", "none")
    if kind in ("none", "asset", "continuous"):
        refuse(f"{dag_id} has no schedule")
    planned = logical_dates(data, body["from_date"], body["to_date"])
    if body["run_backwards"]:
        planned.reverse()
    out = []
    for info in planned:
        existing = conn.execute(select(dag_run).where(dag_run.c.dag_id == dag_id,
                                                      dag_run.c.logical_date == info.logical_date)).first()
        reason = None
        if existing is not None:
            if existing.state not in ("success", "failed"):
                reason = "in flight"
            elif body["reprocess_behavior"] == "none" or (body["reprocess_behavior"] == "failed"
                                                           and existing.state != "failed"):
                reason = "already exists"
        out.append((info, existing, reason))
    return data, version_id, out


def create_backfill_dry_run(services, request):
    body = _read_request(request)
    with services.engine.connect() as conn:
        _, _, planned = _plan(conn, body)
    runs = [{"logical_date": iso(info.logical_date), "partition_key": None, "partition_date": None}
            for info, _, reason in planned if reason is None]
    return {"backfills": runs, "total_entries": len(runs)}


def create_backfill(services, request):
    body = _read_request(request)
    with services.engine.begin() as conn:
        common.record(conn, request, "create_backfill", body={k: (iso(v) if isinstance(v, dt.datetime) else v)
                                                              for k, v in body.items()}, dag_id=body["dag_id"])
    user = common.user_name(request)
    with services.engine.begin() as conn:
        row = insert_backfill(conn, body, user)
    services.bus.notify_scheduler(kind="run_created", dag_id=body["dag_id"])
    return serialize(row)


def insert_backfill(conn, body: dict, user: str | None):
    """The backfill row, its runs created (or redone) in `conn`'s transaction (also `leoflow backfill create`)."""
    running = conn.execute(select(backfill.c.id).where(backfill.c.dag_id == body["dag_id"],
                                                       backfill.c.completed_at.is_(None))).first()
    if running is not None:
        raise HTTPError(409, f"There is already a running backfill for dag {body['dag_id']}")
    data, version_id, planned = _plan(conn, body)
    if not planned:
        raise ValidationFailed([invalid(["body"], f"No runs to create for Dag {body['dag_id']}", None,
                                        "value_error")])
    now = utcnow()
    backfill_id = conn.execute(backfill.insert().values(
        dag_id=body["dag_id"], from_date=body["from_date"], to_date=body["to_date"],
        dag_run_conf=body["dag_run_conf"], is_paused=False, reprocess_behavior=body["reprocess_behavior"],
        max_active_runs=body["max_active_runs"], created_at=now, updated_at=now, triggering_user_name=user,
    )).inserted_primary_key[0]
    for ordinal, (info, existing, reason) in enumerate(planned, start=1):
        run_pk = None
        if reason is None and existing is not None:
            run_pk = existing.id
            _rerun(conn, existing, backfill_id)
        elif reason is None:
            created = store_runs.create_dag_run(
                conn, data, dag_version_id=version_id, run_type="backfill", run_after=info.run_after,
                logical_date=info.logical_date, data_interval=info.data_interval, conf=body["dag_run_conf"],
                triggered_by="backfill", triggering_user_name=user)
            run_pk = created["id"]
            conn.execute(update(dag_run).where(dag_run.c.id == run_pk).values(backfill_id=backfill_id))
        conn.execute(backfill_dag_run.insert().values(
            backfill_id=backfill_id, dag_run_id=run_pk, exception_reason=reason,
            logical_date=info.logical_date, sort_ordinal=ordinal))
    return conn.execute(select(backfill).where(backfill.c.id == backfill_id)).first()


def _rerun(conn, run, backfill_id: int) -> None:
    """A finished run the backfill redoes: its tasks cleared (and their XComs), the run queued again."""
    conn.execute(update(task_instance).where(task_instance.c.dag_id == run.dag_id,
                                             task_instance.c.run_id == run.run_id)
                 .values(state=None, start_date=None, end_date=None, duration=None, updated_at=utcnow()))
    conn.execute(delete(xcom).where(xcom.c.dag_run_id == run.id))
    conn.execute(update(dag_run).where(dag_run.c.id == run.id).values(
        state="queued", queued_at=utcnow(), start_date=None, end_date=None, backfill_id=backfill_id,
        run_type="backfill", triggered_by="backfill", clear_number=(run.clear_number or 0) + 1))


def list_backfills(services, request):
    q = Query(request)
    limit, offset = q.paging()
    dag_id = q.str("dag_id")
    if dag_id is None:
        q.fail("dag_id", "Field required", None, "missing")
    q.done()
    query = select(backfill).where(backfill.c.dag_id == dag_id)
    query = queries.ordered(query, q.list("order_by"), _ORDER, ["id"], tiebreak=backfill.c.id)
    with services.engine.connect() as conn:
        rows, total = queries.page(conn, query, limit, offset)
    return {"backfills": [serialize(r) for r in rows], "total_entries": total}


def _backfill_id(request) -> int:
    return path_int(request, "backfill_id", ge=0)


def get_backfill(services, request):
    backfill_id = _backfill_id(request)
    with services.engine.connect() as conn:
        row = conn.execute(select(backfill).where(backfill.c.id == backfill_id)).first()
    if row is None:
        raise not_found("Backfill not found")
    return serialize(row)


def _change(services, request, event: str, change) -> dict:
    backfill_id = _backfill_id(request)
    with services.engine.begin() as conn:
        common.record(conn, request, event)
    with services.engine.begin() as conn:
        row = conn.execute(select(backfill).where(backfill.c.id == backfill_id)).first()
        if row is None:
            raise not_found(f"Could not find backfill with id {backfill_id}")
        if row.completed_at is not None:
            raise HTTPError(409, "Backfill is already completed.")
        change(conn, row)
        row = conn.execute(select(backfill).where(backfill.c.id == backfill_id)).first()
    services.bus.notify_scheduler(kind="backfill_changed", dag_id=row.dag_id)
    return serialize(row)


def pause_backfill(services, request):
    return _change(services, request, "pause_backfill", lambda conn, row: conn.execute(
        update(backfill).where(backfill.c.id == row.id).values(is_paused=True, updated_at=utcnow())))


def unpause_backfill(services, request):
    return _change(services, request, "unpause_backfill", lambda conn, row: conn.execute(
        update(backfill).where(backfill.c.id == row.id).values(is_paused=False, updated_at=utcnow())))


def cancel_backfill(services, request):
    def cancel(conn, row):
        # Queued runs never start; running ones finish; the backfill is over.
        runs = select(backfill_dag_run.c.dag_run_id).where(backfill_dag_run.c.backfill_id == row.id)
        conn.execute(update(dag_run).where(dag_run.c.id.in_(runs), dag_run.c.state == "queued")
                     .values(state="failed", end_date=utcnow()))
        conn.execute(update(backfill).where(backfill.c.id == row.id).values(
            is_paused=True, completed_at=utcnow(), updated_at=utcnow()))

    return _change(services, request, "cancel_backfill", cancel)


ROUTES = [
    ("/backfills", ["GET"], list_backfills),
    ("/backfills", ["POST"], create_backfill),
    ("/backfills/dry_run", ["POST"], create_backfill_dry_run),
    ("/backfills/{backfill_id}", ["GET"], get_backfill),
    ("/backfills/{backfill_id}/pause", ["PUT"], pause_backfill),
    ("/backfills/{backfill_id}/unpause", ["PUT"], unpause_backfill),
    ("/backfills/{backfill_id}/cancel", ["PUT"], cancel_backfill),
]
