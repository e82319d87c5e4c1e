"""Execution API: what a task may ask about or do to other DAGs.

`POST /dag-runs/{dag_id}/{run_id}` (TriggerDagRunOperator), `POST /dag-runs/{dag_id}/{run_id}/clear`
(its `reset_dag_run`), and the counts/states ExternalTaskSensor polls: `GET /dag-runs/count`,
`GET /task-instances/count`, `GET /task-instances/states` — Airflow 3.2.1's paths and bodies.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, or_, select, update
from starlette.routing import Route

from ..store import dags as dag_store, runs, tis
from ..store.tables import dag_run, task_instance as TI
from ..store.types import utcnow
from .endpoint import make_endpoint, parse_query_time, query_int
from .http import HTTPError, no_content, not_found, parse_time, respond

# A one-shot `dags test` knows only the DAG it tests; it may set this to parse the file that defines
# another DAG on demand (returns True when it found one). Lite and server parse the whole folder.
dag_finder: Callable[[str], bool] | None = None


def finder_for(processor, dags_folder) -> Callable[[str], bool]:
    """A `dag_finder` for a one-shot command: parse the files that mention the DAG id until one defines it."""

    def find(dag_id: str) -> bool:
        from pathlib import Path

        from ..dagtest import find_dag_file
        from ..store import dags as store

        for path in find_dag_file(Path(dags_folder), dag_id):
            if dag_id.encode() not in Path(path).read_bytes():
                break  # the rest of the folder does not mention it
            processor.process_file(path)
            with processor.services.engine.connect() as conn:
                if store.get_dag(conn, dag_id) is not None:
                    return True
        return False

    return find


def _list(request, name: str) -> list[str]:
    return [v for v in request.query_params.getlist(name) if v != ""]


def _times(request, name: str) -> list:
    return [parse_query_time(v, name) for v in _list(request, name)]


def trigger_run(conn, dag_id: str, run_id: str, body: dict, notify) -> dict:
    """Create a manual run of `dag_id`, as TriggerDagRunOperator asks (triggered_by=operator)."""
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise HTTPError(422, [{"type": "model_attributes_type", "loc": ["body"],
                               "msg": "Input should be a valid dictionary", "input": body}])
    unknown = set(body) - {"logical_date", "conf", "reset_dag_run", "partition_key", "note"}
    if unknown:
        name = sorted(unknown)[0]
        raise HTTPError(422, [{"type": "extra_forbidden", "loc": ["body", name],
                               "msg": "Extra inputs are not permitted", "input": body[name]}])
    conf = body.get("conf") or {}
    if not isinstance(conf, dict):
        raise HTTPError(422, [{"type": "dict_type", "loc": ["body", "conf"],
                               "msg": "Input should be a valid dictionary", "input": conf}])
    logical_date = parse_time(body["logical_date"], "logical_date") if body.get("logical_date") else None
    row = dag_store.get_dag(conn, dag_id)
    if row is None or row.is_stale:
        raise not_found(f"Dag with dag_id: '{dag_id}' not found")
    if row.has_import_errors:
        raise HTTPError(400, {"reason": "import_errors",
                              "message": f"Dag with dag_id '{dag_id}' has import errors and cannot be triggered"})
    latest = dag_store.latest_serialized(conn, dag_id)
    if latest is None:
        raise not_found(f"Dag with dag_id: '{dag_id}' not found")
    version_id, data = latest
    now = utcnow()
    try:
        created = runs.create_dag_run(
            conn, data, dag_version_id=version_id, run_type="manual", run_after=logical_date or now,
            logical_date=logical_date, data_interval=(logical_date, logical_date) if logical_date else None,
            run_id=run_id, conf=conf, triggered_by="operator", note=body.get("note"))
    except runs.InvalidRunId as exc:  # the operator's trigger_run_id: one safe path segment, as the API's
        raise HTTPError(400, {"reason": "invalid_run_id", "message": str(exc)}) from None
    except runs.RunExists:
        raise HTTPError(409, {"reason": "already_exists",
                              "message": f"A run already exists for Dag '{dag_id}' with run_id '{run_id}'"})
    notify(dag_id=dag_id, run_id=created["run_id"])
    return created


def clear_run(conn, dag_id: str, run_id: str) -> None:
    """Every task instance of the run back to no state; the run queued again (try numbers kept)."""
    run = runs.get_run(conn, dag_id, run_id)
    if run is None:
        raise not_found(f"Dag run with run_id: '{run_id}' not found")
    latest = dag_store.latest_serialized(conn, dag_id)
    retries = {t["task_id"]: t.get("retries", 0) for t in (latest[1]["tasks"] if latest else [])}
    now = utcnow()
    for row in tis.tis_of_run(conn, dag_id, run_id):
        if row.try_number > 0 and row.state is not None:
            tis.record_history(conn, row.id)
        # As Airflow's clear: the next try gets the task's retries again.
        conn.execute(update(TI).where(TI.c.id == row.id).values(
            state=None, start_date=None, end_date=None, duration=None, next_method=None, next_kwargs=None,
            trigger_id=None, trigger_timeout=None, updated_at=now,
            max_tries=row.try_number + retries.get(row.task_id, 0)))
    runs.set_run_state(conn, dag_id, run_id, "queued", start_date=None, end_date=None, queued_at=now,
                       clear_number=run.clear_number + 1)


def cross_dag_routes(services) -> list[Route]:
    endpoint = make_endpoint(services.settings.secret("jwt-execution"))
    engine = services.engine

    def notify(**fields):
        services.bus.notify_scheduler(kind="run_triggered", **fields)

    @endpoint(body=True)
    def trigger(request, body, dag_id, run_id):
        with engine.connect() as conn:
            known = dag_store.get_dag(conn, dag_id) is not None
        if not known and dag_finder is not None:
            dag_finder(dag_id)
        with engine.begin() as conn:
            trigger_run(conn, dag_id, run_id, body, notify)
        return no_content()

    @endpoint()
    def clear(request, _body, dag_id, run_id):
        with engine.begin() as conn:
            row = dag_store.get_dag(conn, dag_id)
            if row is None or row.is_stale:
                raise not_found(f"Dag with dag_id: '{dag_id}' not found")
            clear_run(conn, dag_id, run_id)
        notify(dag_id=dag_id, run_id=run_id)
        return no_content()

    def dag_id_of(request) -> str:
        dag_id = request.query_params.get("dag_id")
        if not dag_id:
            raise HTTPError(422, [{"type": "missing", "loc": ["query", "dag_id"], "msg": "Field required",
                                   "input": None}])
        return dag_id

    @endpoint()
    def dag_run_count(request, _body):
        q = select(func.count()).select_from(dag_run).where(dag_run.c.dag_id == dag_id_of(request))
        if dates := _times(request, "logical_dates"):
            q = q.where(dag_run.c.logical_date.in_(dates))
        if run_ids := _list(request, "run_ids"):
            q = q.where(dag_run.c.run_id.in_(run_ids))
        if states := _list(request, "states"):
            q = q.where(dag_run.c.state.in_(states))
        with engine.connect() as conn:
            return respond(conn.execute(q).scalar() or 0)

    def ti_filter(conn, request, dag_id: str, *, with_group: bool = True):
        q = select(TI.c.task_id, TI.c.map_index, TI.c.run_id, TI.c.state).join(
            dag_run, (dag_run.c.dag_id == TI.c.dag_id) & (dag_run.c.run_id == TI.c.run_id)
        ).where(TI.c.dag_id == dag_id)
        task_ids = _list(request, "task_ids")
        group_id = request.query_params.get("task_group_id")
        if group_id and with_group:
            members = group_tasks(conn, dag_id, group_id)
            task_ids = members if not task_ids else task_ids + members
        if task_ids:
            q = q.where(TI.c.task_id.in_(task_ids))
        map_index = query_int(request, "map_index")
        if map_index is not None:
            q = q.where(TI.c.map_index == map_index)
        if dates := _times(request, "logical_dates"):
            q = q.where(dag_run.c.logical_date.in_(dates))
        if run_ids := _list(request, "run_ids"):
            q = q.where(dag_run.c.run_id.in_(run_ids))
        return q

    def group_tasks(conn, dag_id: str, group_id: str) -> list[str]:
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

    @endpoint()
    def ti_count(request, _body):
        dag_id = dag_id_of(request)
        with engine.connect() as conn:
            q = ti_filter(conn, request, dag_id)
            if states := _list(request, "states"):
                named = [s for s in states if s not in ("null", "none")]
                cond = TI.c.state.in_(named) if named else None
                if len(named) != len(states):
                    cond = or_(TI.c.state.is_(None), cond) if cond is not None else TI.c.state.is_(None)
                q = q.where(cond)
            return respond(len(conn.execute(q).all()))

    @endpoint()
    def ti_states(request, _body):
        dag_id = dag_id_of(request)
        by_run: dict[str, dict] = {}
        with engine.connect() as conn:
            for row in conn.execute(ti_filter(conn, request, dag_id)).all():
                key = row.task_id if row.map_index < 0 else f"{row.task_id}_{row.map_index}"
                by_run.setdefault(row.run_id, {})[key] = row.state
        return respond({"task_states": by_run})

    return [
        Route("/dag-runs/count", dag_run_count, methods=["GET"]),
        Route("/dag-runs/{dag_id}/{run_id}", trigger, methods=["POST"]),
        Route("/dag-runs/{dag_id}/{run_id}/clear", clear, methods=["POST"]),
        Route("/task-instances/count", ti_count, methods=["GET"]),
        Route("/task-instances/states", ti_states, methods=["GET"]),
    ]
