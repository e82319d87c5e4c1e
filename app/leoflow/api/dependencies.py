"""GET .../taskInstances/{task_id}[/{map_index}]/dependencies: why a task instance is not running.

Each entry names a dependency that is not met, as Airflow's scheduler dependencies do
(`Task Instance State`, `Dagrun Running`, `Trigger Rule`, `Not In Retry Period`).
"""

from __future__ import annotations

from sqlalchemy import select

from ..scheduler import rules
from ..store import dags as store_dags
from ..store import runs as store_runs
from ..store.tables import task_instance
from ..store.types import utcnow
from .task_instances import find_ti, ti_not_found
from .tries import _int_path, _map_index

_RUNNABLE = (None, "scheduled", "up_for_retry", "up_for_reschedule")


def failed_dependencies(ti, run, task: dict | None, upstream_states: dict[str, list]) -> list[dict]:
    deps = []
    if ti.state not in _RUNNABLE:
        deps.append({"name": "Task Instance State", "reason": f"Task is in the '{ti.state}' state."})
    if run.state != "running":
        deps.append({"name": "Dagrun Running",
                     "reason": f"Task instance's dagrun was not in the 'running' state but in the state "
                               f"'{run.state}'."})
    if ti.state == "up_for_retry" and task is not None and ti.end_date is not None:
        due = rules.retry_due_at(task, ti.try_number, ti.end_date)
        if due > utcnow():
            deps.append({"name": "Not In Retry Period",
                         "reason": f"Task is not ready for retry yet but will be retried automatically. "
                                   f"Current date is {utcnow().isoformat()} and task will be retried at "
                                   f"{due.isoformat()}."})
    if ti.state in _RUNNABLE and task is not None and task.get("upstream"):
        rule = task.get("trigger_rule") or "all_success"
        states = [s for up in task["upstream"] for s in upstream_states.get(up, [None])]
        verdict = rules.evaluate_trigger_rule(rule, states)
        if verdict != "run":
            done = sum(1 for s in states if s in rules.FINISHED)
            deps.append({"name": "Trigger Rule",
                         "reason": f"Task's trigger rule '{rule}' requires all upstream tasks to have "
                                   f"{'succeeded' if rule == 'all_success' else 'completed'}, but found "
                                   f"{len(states) - done} task(s) that were not done. "
                                   f"upstream_task_ids={set(task['upstream'])}"})
    return deps


def _dependencies(services, request, map_index: int):
    p = request.path_params
    dag_id, run_id, task_id = p["dag_id"], p["dag_run_id"], p["task_id"]
    with services.engine.connect() as conn:
        ti = find_ti(conn, dag_id, run_id, task_id, map_index)
        if ti is None:
            raise ti_not_found(dag_id, run_id, task_id, map_index)
        run = store_runs.get_run(conn, dag_id, run_id)
        data = (store_dags.serialized_by_version(conn, ti.dag_version_id) if ti.dag_version_id else None) \
            or (store_dags.latest_serialized(conn, dag_id) or (None, {}))[1]
        task = next((t for t in data.get("tasks", []) if t["task_id"] == task_id), None)
        upstream_states: dict[str, list] = {}
        if task and task.get("upstream"):
            for row in conn.execute(select(task_instance.c.task_id, task_instance.c.state).where(
                    task_instance.c.dag_id == dag_id, task_instance.c.run_id == run_id,
                    task_instance.c.task_id.in_(task["upstream"]))):
                upstream_states.setdefault(row.task_id, []).append(row.state)
    return {"dependencies": failed_dependencies(ti, run, task, upstream_states)}


def get_dependencies(services, request):
    return _dependencies(services, request, _map_index(request))


def get_mapped_dependencies(services, request):
    return _dependencies(services, request, _int_path(request, "map_index"))


_TI = "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}"

ROUTES = [
    (_TI + "/dependencies", ["GET"], get_dependencies),
    (_TI + "/{map_index}/dependencies", ["GET"], get_mapped_dependencies),
]
