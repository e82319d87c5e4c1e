"""Execution API routes for branching, mapping and the template context (Airflow 3.2.1's paths and bodies).

- PATCH /task-instances/{id}/skip-downstream: a branch or short-circuit task skips tasks of its run
- PATCH /task-instances/{id}/rendered-map-index: the label a mapped instance rendered
- GET /task-instances/{id}/previous-successful-dagrun: the `prev_*_success` context values
- GET /xcoms/{dag}/{run}/{task}/{key}/slice and /item/{offset}: a mapped task's results as a sequence
"""

from __future__ import annotations

from sqlalchemy import or_, select, update

from ..services import Services
from ..store import tis
from ..store.tables import dag_run, task_instance, xcom
from .endpoint import make_endpoint, query_int
from .http import HTTPError, no_content, not_found, respond

# A skip never overwrites a task that already started or finished (as in Airflow 3.2.1).
NOT_SKIPPABLE = ("running", "success", "failed")


def stop_remaining_if_fail_fast(conn, ti) -> None:
    """A DAG with `fail_fast=True`: one failure fails the running tasks and skips the rest (not teardowns)."""
    from ..store import dags as dag_store
    from ..store.types import utcnow

    doc = dag_store.serialized_by_version(conn, ti.dag_version_id) if ti.dag_version_id else None
    if not doc or not doc.get("fail_fast"):
        return
    teardowns = {t["task_id"] for t in doc.get("tasks", []) if t.get("is_teardown")}
    now = utcnow()
    T = task_instance
    others = conn.execute(select(T.c.id, T.c.task_id, T.c.state).where(
        T.c.dag_id == ti.dag_id, T.c.run_id == ti.run_id, T.c.task_id != ti.task_id)).all()
    for other in others:
        if other.state in ("success", "failed") or other.task_id in teardowns:
            continue
        state = "failed" if other.state == "running" else "skipped"
        conn.execute(update(T).where(T.c.id == other.id).values(state=state, end_date=now, updated_at=now))


def task_semantics_routes(services: Services):
    from starlette.routing import Route

    engine = services.engine
    endpoint = make_endpoint(services.settings.secret("jwt-execution"))

    @endpoint(body=True, auth="self")
    def skip_downstream(request, body, task_instance_id):
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
        with engine.begin() as conn:
            ti = tis.get_ti(conn, task_instance_id)
            if ti is None:
                raise not_found("Task Instance not found")
            T = task_instance
            from ..store.types import utcnow

            now = utcnow()
            for task_id, map_index in keys:
                conn.execute(update(T).where(
                    T.c.dag_id == ti.dag_id, T.c.run_id == ti.run_id, T.c.task_id == task_id,
                    T.c.map_index == map_index, or_(T.c.state.is_(None), T.c.state.not_in(NOT_SKIPPABLE)),
                ).values(state="skipped", start_date=now, end_date=now, duration=0.0, updated_at=now))
        services.bus.notify_scheduler(kind="ti_skipped_downstream", dag_id=ti.dag_id, run_id=ti.run_id)
        return no_content()

    @endpoint(body=True, auth="self")
    def rendered_map_index(request, body, task_instance_id):
        if not isinstance(body, str) or not body:
            raise HTTPError(422, "rendered_map_index cannot be empty")
        with engine.begin() as conn:
            done = conn.execute(update(task_instance).where(task_instance.c.id == task_instance_id)
                                .values(rendered_map_index=body)).rowcount
        if not done:
            raise not_found("Task Instance not found")
        return no_content()

    @endpoint(auth="self")
    def previous_successful_dagrun(request, _body, task_instance_id):
        with engine.connect() as conn:
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

    def _values(dag_id, run_id, task_id, key):
        return (select(xcom.c.value).where(xcom.c.dag_id == dag_id, xcom.c.run_id == run_id,
                                           xcom.c.task_id == task_id, xcom.c.key == key))

    @endpoint(auth="any")
    def xcom_slice(request, _body, dag_id, run_id, task_id, key):
        start, stop, step = (query_int(request, n) for n in ("start", "stop", "step"))
        with engine.connect() as conn:
            values = [r.value for r in conn.execute(_values(dag_id, run_id, task_id, key)
                                                     .order_by(xcom.c.map_index)).all()]
        return respond(values[slice(start, stop, step)])

    @endpoint(auth="any")
    def xcom_item(request, _body, dag_id, run_id, task_id, key, offset):
        try:
            index = int(offset)
        except ValueError:
            raise HTTPError(422, [{"type": "int_parsing", "loc": ["path", "offset"],
                                   "msg": "Input should be a valid integer", "input": offset}])
        with engine.connect() as conn:
            values = [r.value for r in conn.execute(_values(dag_id, run_id, task_id, key)
                                                     .order_by(xcom.c.map_index)).all()]
        if not -len(values) <= index < len(values):
            raise not_found(f"XCom with key='{key}' offset={index} not found for task '{task_id}' in DAG run "
                            f"'{run_id}' of '{dag_id}'")
        return respond(values[index])

    def _when(request, name: str):
        from .endpoint import query_time

        return query_time(request, name)

    @endpoint(auth="any")
    def previous_dag_run(request, _body):
        from .routes import run_body

        dag_id = request.query_params.get("dag_id")
        logical_date = _when(request, "logical_date")
        missing = [n for n, v in (("dag_id", dag_id), ("logical_date", logical_date)) if not v]
        if missing:
            raise HTTPError(422, [{"type": "missing", "loc": ["query", n], "msg": "Field required"} for n in missing])
        query = select(dag_run).where(dag_run.c.dag_id == dag_id, dag_run.c.logical_date < logical_date)
        if request.query_params.get("state"):
            query = query.where(dag_run.c.state == request.query_params["state"])
        with engine.connect() as conn:
            row = conn.execute(query.order_by(dag_run.c.logical_date.desc()).limit(1)).first()
        return respond(run_body(row) if row is not None else None)

    @endpoint(auth="any")
    def previous_task_instance(request, _body, dag_id, task_id):
        T = task_instance
        map_index = query_int(request, "map_index")
        query = (select(T, dag_run.c.logical_date.label("run_logical_date"))
                 .join(dag_run, (dag_run.c.dag_id == T.c.dag_id) & (dag_run.c.run_id == T.c.run_id))
                 .where(T.c.dag_id == dag_id, T.c.task_id == task_id, T.c.map_index == (-1 if map_index is None
                                                                                        else map_index)))
        before = _when(request, "logical_date")
        if before is not None:
            query = query.where(dag_run.c.logical_date < before)
        if request.query_params.get("state"):
            query = query.where(T.c.state == request.query_params["state"])
        with engine.connect() as conn:
            row = conn.execute(query.order_by(dag_run.c.logical_date.desc()).limit(1)).first()
        if row is None:
            return respond(None)
        return respond({"task_id": row.task_id, "dag_id": row.dag_id, "run_id": row.run_id,
                        "logical_date": row.run_logical_date, "start_date": row.start_date,
                        "end_date": row.end_date, "state": row.state, "try_number": row.try_number,
                        "map_index": row.map_index, "duration": row.duration})

    ti = "/task-instances/{task_instance_id}"
    xc = "/xcoms/{dag_id}/{run_id}/{task_id}/{key}"
    return [
        Route("/dag-runs/previous", previous_dag_run, methods=["GET"]),
        Route("/task-instances/previous/{dag_id}/{task_id}", previous_task_instance, methods=["GET"]),
        Route(f"{ti}/skip-downstream", skip_downstream, methods=["PATCH"]),
        Route(f"{ti}/rendered-map-index", rendered_map_index, methods=["PATCH"]),
        Route(f"{ti}/previous-successful-dagrun", previous_successful_dagrun, methods=["GET"]),
        Route(f"{xc}/slice", xcom_slice, methods=["GET"]),
        Route(xc + "/item/{offset}", xcom_item, methods=["GET"]),
    ]
