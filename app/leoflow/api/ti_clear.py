"""POST /dags/{dag_id}/clearTaskInstances: clear task instances by run, task, date window and state."""

from __future__ import annotations

from ..store import dags as store_dags
from . import actions, clearing
from .dags import dag_not_found
from .errors import HTTPError
from .task_instances import ti_bodies
from .validate import Body, json_body

_FIELDS = {"dry_run", "start_date", "end_date", "only_failed", "only_running", "reset_dag_runs", "task_ids",
           "dag_run_id", "include_upstream", "include_downstream", "include_future", "include_past",
           "run_on_latest_version", "prevent_running_task"}


def _task_ids(body: Body):
    """`task_ids`: task ids, or `[task_id, map_index]` pairs for single mapped instances."""
    value = body.data.get("task_ids")
    if value is None:
        return None
    if not isinstance(value, list):
        body.fail("task_ids", "Input should be a valid list", value, "list_type")
        return None
    out = []
    for i, item in enumerate(value):
        if isinstance(item, str):
            out.append(item)
        elif (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str) and isinstance(item[1], int)
              and not isinstance(item[1], bool)):
            out.append((item[0], item[1]))
        else:
            body.errors.append({"type": "value_error", "loc": ["body", "task_ids", i],
                                "msg": "Input should be a task id or a [task_id, map_index] pair", "input": item})
    return out


def clear_task_instances(services, request):
    dag_id = request.path_params["dag_id"]
    body = Body(json_body(request), allowed=_FIELDS)
    dry_run = body.flag("dry_run", True)
    start_date, end_date = body.datetime("start_date"), body.datetime("end_date")
    only_failed = body.flag("only_failed", True)
    only_running = body.flag("only_running", False)
    reset_runs = body.flag("reset_dag_runs", True)
    tasks = _task_ids(body)
    run_id = body.str("dag_run_id")
    flags = {f: body.flag(f, False) for f in ("include_upstream", "include_downstream", "include_future",
                                               "include_past", "run_on_latest_version", "prevent_running_task")}
    body.done()
    if run_id is not None:  # the run's own logical date bounds the clear, as in Airflow
        start_date = end_date = None
    with services.engine.begin() as conn:
        if store_dags.get_dag(conn, dag_id) is None:
            raise dag_not_found(dag_id)
        found = store_dags.latest_serialized(conn, dag_id)
        version_id, data = found if found else (None, {})
        run_filter = None
        if run_id is not None:
            run_filter = clearing.run_window(conn, dag_id, run_id, past=flags["include_past"],
                                             future=flags["include_future"])
            if run_filter is None:
                raise HTTPError(404, f"Dag Run id {run_id} not found in dag {dag_id}")
        if tasks is not None and (flags["include_upstream"] or flags["include_downstream"]):
            names = clearing.relatives(data, [t if isinstance(t, str) else t[0] for t in tasks],
                                       upstream=flags["include_upstream"], downstream=flags["include_downstream"])
            picked = {t if isinstance(t, str) else t[0] for t in tasks}
            tasks = [*tasks, *sorted(names - picked)]
        states = None
        if only_failed and only_running:
            states = []
        elif only_failed:
            states = list(clearing.FAILED_STATES)
        elif only_running:
            states = ["running"]
        rows = clearing.select_tis(conn, dag_id, run_filter=run_filter, tasks=tasks, states=states,
                                   start_date=start_date, end_date=end_date)
        if flags["prevent_running_task"] and any(r.state == "running" for r in rows):
            raise HTTPError(409, "AirflowClearRunningTaskException: Disable 'prevent_running_task' to proceed, or "
                                 "wait until the task is not running, queued, or scheduled state.")
        bodies = ti_bodies(conn, rows)
        if not dry_run:
            clearing.clear(conn, rows, data, reset_runs=reset_runs,
                           latest_version_id=version_id if flags["run_on_latest_version"] else None)
            actions.record(conn, request, "post_clear_task_instances", dag_id=dag_id, run_id=run_id)
    if not dry_run:
        for run in sorted({r.run_id for r in rows}):
            services.bus.notify_scheduler(kind="run_created", dag_id=dag_id, run_id=run)
    return {"task_instances": bodies, "total_entries": len(bodies)}


ROUTES = [
    ("/dags/{dag_id}/clearTaskInstances", ["POST"], clear_task_instances),
]
