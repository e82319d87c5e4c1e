"""The Task Execution API (`/execution`), Airflow 3.2.1's paths, bodies and status codes.

It is the only way a running task talks to the control plane: the local
executor's tasks, agents, Kubernetes pods and `dags test` all use it.
"""

from __future__ import annotations

from sqlalchemy import bindparam
from starlette.routing import Route

from ..services import Services
from ..store import audit, connections, runs, task_map, tis, variables, xcoms
from ..store.tables import rendered_task_instance_fields
from ..store.types import utcnow
from .assets import asset_routes, consumed_event_bodies, register_success_outlets  # leoflow-async
from .cross_dag import cross_dag_routes  # leoflow-async
from .waiting import WAITING_STATES, run_context, update_waiting_state, waiting_routes  # leoflow-async
from .task_semantics import stop_remaining_if_fail_fast, task_semantics_routes
from .endpoint import make_endpoint
from .http import HTTPError, no_content, not_found, parse_time, require_fields, respond

TERMINAL = {"success", "failed", "skipped", "removed", "up_for_retry"}
MAX_MAP_LENGTH = 1024  # Airflow's [core] max_map_length default


def execution_routes(services: Services) -> list[Route]:
    secret = services.settings.secret("jwt-execution")
    engine = services.engine

    # A task instance's own routes need its own token; shared reads say auth="any".
    endpoint = make_endpoint(secret, default_auth="self")

    # --- task instances -------------------------------------------------

    @endpoint(body=True)
    def ti_run(request, body, task_instance_id):
        require_fields(body, {"state": str, "hostname": str, "unixname": str, "pid": int, "start_date": str})
        start = parse_time(body["start_date"], "start_date")
        with engine.begin() as conn:
            ti = tis.get_ti(conn, task_instance_id)
            if ti is None:
                raise not_found("Task Instance not found")
            same_process = (ti.hostname, ti.unixname, ti.pid) == (body["hostname"], body["unixname"], body["pid"])
            if not (ti.state in ("queued", "restarting") or (ti.state == "running" and same_process)):
                raise HTTPError(409, {"reason": "invalid_state",
                                      "message": "TI was not in a state where it could be marked as running",
                                      "previous_state": ti.state})
            now = utcnow()
            resuming = bool(ti.next_method)  # leoflow-async hook: back from a deferral, keep start and XComs
            tis.update_ti(conn, task_instance_id, state="running", hostname=body["hostname"],
                          unixname=body["unixname"], pid=body["pid"],
                          start_date=ti.start_date if resuming and ti.start_date else start, end_date=None,
                          last_heartbeat_at=now, updated_at=now)
            # A new try starts from a clean slate: the previous try's XComs are gone.
            if not resuming:
                xcoms.clear_task(conn, ti.dag_id, ti.run_id, ti.task_id, ti.map_index)
                task_map.clear(conn, ti.dag_id, ti.run_id, ti.task_id, ti.map_index)
            run = runs.get_run(conn, ti.dag_id, ti.run_id)
            if run.state == "queued":
                runs.set_run_state(conn, ti.dag_id, ti.run_id, "running", start_date=now)
            audit.record(conn, "running", dag_id=ti.dag_id, task_id=ti.task_id, run_id=ti.run_id,
                         map_index=ti.map_index, try_number=ti.try_number, logical_date=run.logical_date,
                         extra={"host_name": body["hostname"]})
            dag_run_body = {**run_body(run), "consumed_asset_events": consumed_event_bodies(conn, run.id)}  # leoflow-async
            waiting_context = run_context(conn, ti)  # leoflow-async: reschedule count, deferral resume point
        return respond({
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
        })

    @endpoint(body=True)
    def ti_update_state(request, body, task_instance_id):
        require_fields(body, {"state": str})
        state = body["state"]
        rendered = body.get("rendered_fields")  # Leoflow's runner sends them here rather than by PUT .../rtif
        if rendered is not None and not isinstance(rendered, dict):
            raise HTTPError(422, [{"type": "dict_type", "loc": ["body", "rendered_fields"],
                                   "msg": "Input should be a valid dictionary", "input": rendered}])
        if state in WAITING_STATES:  # leoflow-async hook: deferred / up_for_reschedule
            return update_waiting(task_instance_id, body, rendered)
        if state not in TERMINAL:
            raise HTTPError(422, [{"type": "literal_error", "loc": ["body", "state"],
                                   "msg": f"Input should be one of {sorted(TERMINAL)}", "input": state}])
        end = parse_time(body["end_date"], "end_date") if body.get("end_date") else utcnow()
        with engine.begin() as conn:
            ti = running_ti(conn, task_instance_id)
            if state == "up_for_retry" and ti.try_number > ti.max_tries:
                state = "failed"  # the runner asked for a retry it has no right to
            tis.finish_try(conn, task_instance_id, state, end, only_if=("running",))
            if rendered is not None:
                store_rendered_fields(conn, ti, rendered)
            if state == "failed":
                stop_remaining_if_fail_fast(conn, ti)
            if state == "success":  # leoflow-async hook: outlets become asset events
                register_success_outlets(conn, ti, body)
            if body.get("rendered_map_index") is not None:
                tis.update_ti(conn, task_instance_id, rendered_map_index=str(body["rendered_map_index"]))
            audit.record(conn, state, dag_id=ti.dag_id, task_id=ti.task_id, run_id=ti.run_id,
                         map_index=ti.map_index, try_number=ti.try_number)
        services.bus.notify_scheduler(kind="ti_finished", dag_id=ti.dag_id, run_id=ti.run_id)
        return no_content()

    def update_waiting(task_instance_id, body, rendered):  # leoflow-async hook
        with engine.begin() as conn:
            ti = running_ti(conn, task_instance_id)
            state = update_waiting_state(conn, ti, body)
            if rendered is not None:
                store_rendered_fields(conn, ti, rendered)
            audit.record(conn, state, dag_id=ti.dag_id, task_id=ti.task_id, run_id=ti.run_id,
                         map_index=ti.map_index, try_number=ti.try_number)
        services.bus.notify_scheduler(kind=f"ti_{state}", dag_id=ti.dag_id, run_id=ti.run_id)
        return no_content()

    @endpoint(body=True)
    def ti_heartbeat(request, body, task_instance_id):
        require_fields(body, {"hostname": str, "pid": int})
        with engine.begin() as conn:
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

    @endpoint(body=True)
    def ti_put_rtif(request, body, task_instance_id):
        if not isinstance(body, dict):
            raise HTTPError(422, [{"type": "dict_type", "loc": ["body"], "msg": "Input should be a valid dictionary",
                                   "input": body}])
        with engine.begin() as conn:
            ti = tis.get_ti(conn, task_instance_id)
            if ti is None:
                raise not_found("Task Instance not found")
            store_rendered_fields(conn, ti, body)
        return respond({"message": "Rendered task instance fields successfully set"}, 201)

    # --- xcoms ------------------------------------------------------------

    def map_index_of(request) -> int:
        raw = request.query_params.get("map_index", "-1")
        try:
            return int(raw)
        except ValueError:
            raise HTTPError(422, [{"type": "int_parsing", "loc": ["query", "map_index"],
                                   "msg": "Input should be a valid integer", "input": raw}])

    @endpoint(auth="any")
    def xcom_get(request, _body, dag_id, run_id, task_id, key):
        prior = request.query_params.get("include_prior_dates", "false").lower() in ("true", "1")
        with engine.connect() as conn:
            if prior:  # the newest value from this run or an earlier one (by logical date)
                row = xcoms.get_latest(conn, dag_id, run_id, task_id, key, map_index_of(request))
            else:
                row = xcoms.get(conn, dag_id, run_id, task_id, key, map_index_of(request))
        if row is None:
            raise not_found(f"XCom with key='{key}' map_index={map_index_of(request)} not found for task "
                            f"'{task_id}' in DAG run '{run_id}' of '{dag_id}'")
        return respond({"key": key, "value": row.value})

    @endpoint(auth="any")
    def xcom_head(request, _body, dag_id, run_id, task_id, key):
        from sqlalchemy import func, select

        from ..store.tables import xcom

        with engine.connect() as conn:
            n = conn.execute(select(func.count()).select_from(xcom).where(
                xcom.c.dag_id == dag_id, xcom.c.run_id == run_id, xcom.c.task_id == task_id,
                xcom.c.key == key)).scalar()
        if not n:
            raise not_found(f"XCom with key='{key}' not found for task '{task_id}'")
        resp = no_content()
        resp.status_code = 200
        resp.headers["Content-Range"] = f"map_indexes {n}"
        return resp

    @endpoint(body=True, auth="any")
    def xcom_set(request, body, dag_id, run_id, task_id, key):
        mapped_length = request.query_params.get("mapped_length")
        if mapped_length is not None and not mapped_length.lstrip("-").isdigit():
            raise HTTPError(422, [{"type": "int_parsing", "loc": ["query", "mapped_length"],
                                   "msg": "Input should be a valid integer", "input": mapped_length}])
        with engine.begin() as conn:
            if not xcoms.set(conn, dag_id, run_id, task_id, key, body, map_index_of(request)):
                raise not_found(f"Dag run '{run_id}' of '{dag_id}' not found")
            if mapped_length is not None:  # the runner says tasks are mapped over this result
                if int(mapped_length) > MAX_MAP_LENGTH:
                    raise HTTPError(400, {"reason": "unmappable_return_value_length",
                                          "message": "pushed value is too large to map as a downstream's dependency"})
                task_map.record(conn, dag_id, run_id, task_id, map_index_of(request), int(mapped_length))
        return respond({"message": "XCom successfully set"}, 201)

    @endpoint(auth="any")
    def xcom_delete(request, _body, dag_id, run_id, task_id, key):
        with engine.begin() as conn:
            xcoms.delete_(conn, dag_id, run_id, task_id, key, map_index_of(request))
        return respond({"message": f"XCom with key: {key} successfully deleted."})

    # --- variables and connections ---------------------------------------

    @endpoint(auth="any")
    def variable_get(request, _body, variable_key):
        with engine.connect() as conn:
            row = variables.get(conn, variable_key)
        if row is None:
            raise not_found(f"Variable with key '{variable_key}' not found")
        return respond({"key": row.key, "value": variables.value_of(row, services.crypt)})

    @endpoint(body=True, auth="any")
    def variable_put(request, body, variable_key):
        require_fields(body, {"value": None})
        with engine.begin() as conn:
            variables.put(conn, variable_key, body["value"], body.get("description"), crypt=services.crypt)
        return respond({"message": "Variable successfully set"}, 201)

    @endpoint(auth="any")
    def variable_delete(request, _body, variable_key):
        with engine.begin() as conn:
            variables.remove(conn, variable_key)
        return no_content()

    @endpoint(auth="any")
    def connection_get(request, _body, connection_id):
        with engine.connect() as conn:
            row = connections.get(conn, connection_id)
        if row is None:
            raise not_found(f"Connection with ID {connection_id} not found")
        data = connections.clear(row, services.crypt)  # tasks get the decrypted password and extra
        return respond({k: data[k] for k in
                        ("conn_id", "conn_type", "host", "schema", "login", "password", "port", "extra")})

    # --- dag runs (read-only, for tasks) ----------------------------------

    @endpoint(auth="any")
    def dag_run_get(request, _body, dag_id, run_id):
        with engine.connect() as conn:
            run = runs.get_run(conn, dag_id, run_id)
        if run is None:
            raise not_found(f"Dag run '{run_id}' of '{dag_id}' not found")
        return respond(run_body(run))

    @endpoint(auth="any")
    def dag_run_state(request, _body, dag_id, run_id):
        with engine.connect() as conn:
            run = runs.get_run(conn, dag_id, run_id)
        if run is None:
            raise not_found(f"Dag run '{run_id}' of '{dag_id}' not found")
        return respond({"state": run.state})

    async def health(request):
        return respond({"status": "healthy"})

    ti = "/task-instances/{task_instance_id}"
    xc = "/xcoms/{dag_id}/{run_id}/{task_id}/{key}"
    return [
        Route("/health", health, methods=["GET"]),
        Route(f"{ti}/run", ti_run, methods=["PATCH"]),
        Route(f"{ti}/state", ti_update_state, methods=["PATCH"]),
        Route(f"{ti}/heartbeat", ti_heartbeat, methods=["PUT"]),
        Route(f"{ti}/rtif", ti_put_rtif, methods=["PUT"]),
        Route(xc, xcom_get, methods=["GET"]),
        Route(xc, xcom_head, methods=["HEAD"]),
        Route(xc, xcom_set, methods=["POST"]),
        Route(xc, xcom_delete, methods=["DELETE"]),
        Route("/variables/{variable_key}", variable_get, methods=["GET"]),
        Route("/variables/{variable_key}", variable_put, methods=["PUT"]),
        Route("/variables/{variable_key}", variable_delete, methods=["DELETE"]),
        Route("/connections/{connection_id}", connection_get, methods=["GET"]),
        Route("/dag-runs/{dag_id}/{run_id}", dag_run_get, methods=["GET"]),
        Route("/dag-runs/{dag_id}/{run_id}/state", dag_run_state, methods=["GET"]),
        *waiting_routes(services), *asset_routes(services), *cross_dag_routes(services),  # leoflow-async
        *task_semantics_routes(services),
    ]


def running_ti(conn, task_instance_id: str):
    """The task instance a final or waiting state is reported for: 404 if unknown, 409 if not running."""
    ti = tis.get_ti(conn, task_instance_id)
    if ti is None:
        raise not_found("Task Instance not found")
    if ti.state != "running":
        raise HTTPError(409, {"reason": "invalid_state",
                              "message": "TI was not in the running state so it cannot be updated",
                              "previous_state": ti.state})
    return ti


def store_rendered_fields(conn, ti, fields: dict) -> None:
    """This try's rendered template fields replace any stored for the task instance."""
    key = dict(dag_id=ti.dag_id, task_id=ti.task_id, run_id=ti.run_id, map_index=ti.map_index)
    conn.execute(_DELETE_RTIF, key)
    conn.execute(_INSERT_RTIF, {**key, "rendered_fields": fields})


# Built once: every task stores its rendered fields.
_DELETE_RTIF = rendered_task_instance_fields.delete().where(
    *(rendered_task_instance_fields.c[k] == bindparam(k) for k in ("dag_id", "task_id", "run_id", "map_index")))
_INSERT_RTIF = rendered_task_instance_fields.insert()


def run_body(run) -> dict:
    """The `DagRun` model of the Execution API."""
    return {
        "dag_id": run.dag_id,
        "run_id": run.run_id,
        "logical_date": run.logical_date,
        "data_interval_start": run.data_interval_start,
        "data_interval_end": run.data_interval_end,
        "run_after": run.run_after,
        "start_date": run.start_date,
        "end_date": run.end_date,
        "clear_number": run.clear_number,
        "run_type": run.run_type,
        "state": run.state,
        "conf": run.conf,
        "triggering_user_name": run.triggering_user_name,
        "consumed_asset_events": [],
        "partition_key": None,
        "note": run.note,
    }
