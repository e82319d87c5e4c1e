"""GET .../taskInstances/{task_id}[/{map_index}]/dependencies: why a waiting task instance is not queued.

As Airflow does, only a task instance without state or scheduled is examined; each entry names a
scheduling dependency that is not met (`Dag Not Paused`, `Dagrun Running`, `Task Instance State`),
sorted by name. Anything else has no blocking dependencies.
"""

from __future__ import annotations

from sqlalchemy import select

from ..store import runs as store_runs
from ..store.tables import dag
from .task_instances import find_ti, ti_not_found
from .tries import _map_index
from .validate import path_int

_EXAMINED = (None, "scheduled")


def failed_dependencies(ti, run, paused: bool) -> list[dict]:
    if ti.state not in _EXAMINED:
        return []
    deps = []
    if paused:
        deps.append({"name": "Dag Not Paused", "reason": f"Task's DAG '{ti.dag_id}' is paused."})
    if run is not None and run.state != "running":
        deps.append({"name": "Dagrun Running",
                     "reason": f"Task instance's dagrun was not in the 'running' state but in the state "
                               f"'{run.state}'."})
    if ti.state is None:
        deps.append({"name": "Task Instance State", "reason": "Task is in the 'None' state."})
    return sorted(deps, key=lambda d: d["name"])


def _dependencies(services, request, map_index: int):
    p = request.path_params
    dag_id, run_id, task_id = p["dag_id"], p["dag_run_id"], p["task_id"]
    with services.engine.connect() as conn:
        ti = find_ti(conn, dag_id, run_id, task_id, map_index)
        if ti is None:
            raise ti_not_found(dag_id, run_id, task_id, map_index)
        run = store_runs.get_run(conn, dag_id, run_id)
        paused = bool(conn.execute(select(dag.c.is_paused).where(dag.c.dag_id == dag_id)).scalar())
        waiting = _agent_waiting(services, conn, ti)
    return {"dependencies": failed_dependencies(ti, run, paused) + waiting}


def _agent_waiting(services, conn, ti) -> list[dict]:
    """A try queued for the agents that no live agent can take (Leoflow's agents, ADR 26)."""
    if ti.state != "queued" or getattr(ti, "executor", None) != "AgentExecutor":
        return []
    import datetime as dt

    from ..store import agents
    from ..store.types import utcnow

    heard = utcnow() - dt.timedelta(seconds=services.settings.zombie_threshold)
    reason = agents.waiting_reason(conn, ti.id, heard)
    return [{"name": "Agent Serving Queue", "reason": f"Queued for the agents, but {reason}."}] if reason else []


def get_dependencies(services, request):
    return _dependencies(services, request, _map_index(request))


def get_mapped_dependencies(services, request):
    return _dependencies(services, request, path_int(request, "map_index"))


_TI = "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}"

ROUTES = [
    (_TI + "/dependencies", ["GET"], get_dependencies),
    (_TI + "/{map_index}/dependencies", ["GET"], get_mapped_dependencies),
]
