"""GET /dags/{dag_id}/tasks[/{task_id}]: tasks as the newest serialized DAG describes them."""

from __future__ import annotations

from ..store import dags as store_dags
from .dags import dag_not_found
from .errors import HTTPError, not_found
from . import serializers
from .serializers import iso, params
from .validate import Query

# Where Airflow's standard operators live, for `class_ref` (the UI shows the class path).
_MODULES = {
    "_PythonDecoratedOperator": "airflow.providers.standard.decorators.python",
    "PythonOperator": "airflow.providers.standard.operators.python",
    "BranchPythonOperator": "airflow.providers.standard.operators.python",
    "ShortCircuitOperator": "airflow.providers.standard.operators.python",
    "BashOperator": "airflow.providers.standard.operators.bash",
    "_BashDecoratedOperator": "airflow.providers.standard.decorators.bash",
    "EmptyOperator": "airflow.providers.standard.operators.empty",
    "TriggerDagRunOperator": "airflow.providers.standard.operators.trigger_dagrun",
}

_ORDER_KEYS = ("task_id", "task_display_name", "owner", "start_date", "end_date", "trigger_rule", "retries",
               "queue", "pool", "pool_slots", "priority_weight", "weight_rule", "operator_name", "is_mapped")


def timedelta_body(seconds) -> dict | None:
    """A duration in seconds as Airflow's `TimeDelta` object."""
    if seconds is None:
        return None
    if isinstance(seconds, dict):
        return seconds
    whole = float(seconds)
    days, rest = divmod(whole, 86400)
    secs = int(rest)
    return {"__type": "TimeDelta", "days": int(days), "seconds": secs,
            "microseconds": int(round((rest - secs) * 1_000_000))}


def _number(value):
    return None if value is None else float(value)


def task_body(task: dict, dag_params: dict | None = None) -> dict:
    """TaskResponse from one task of a serialized DAG."""
    task_type = task.get("task_type")
    operator_name = serializers.operator_name(task.get("custom_operator_name"), task_type)
    return {
        "task_id": task["task_id"],
        "task_display_name": task.get("task_display_name") or task["task_id"],
        "owner": task.get("owner"),
        "start_date": iso(task.get("start_date")),
        "end_date": iso(task.get("end_date")),
        "trigger_rule": task.get("trigger_rule"),
        "depends_on_past": bool(task.get("depends_on_past", False)),
        "wait_for_downstream": bool(task.get("wait_for_downstream", False)),
        "retries": _number(task.get("retries", 0)),
        "queue": task.get("queue"),
        "pool": task.get("pool"),
        "pool_slots": _number(task.get("pool_slots", 1)),
        "execution_timeout": timedelta_body(task.get("execution_timeout")),
        "retry_delay": timedelta_body(task.get("retry_delay")),
        "retry_exponential_backoff": float(task.get("retry_exponential_backoff") or 0),
        "priority_weight": _number(task.get("priority_weight")),
        "weight_rule": task.get("weight_rule"),
        "ui_color": task.get("ui_color"),
        "ui_fgcolor": task.get("ui_fgcolor"),
        "template_fields": task.get("template_fields"),
        "downstream_task_ids": sorted(task.get("downstream", [])),
        "doc_md": task.get("doc_md"),
        "operator_name": operator_name,
        "params": params(task.get("params") or dag_params),
        "class_ref": {"module_path": task.get("task_module") or _MODULES.get(task_type), "class_name": task_type},
        "is_mapped": bool(task.get("is_mapped", False)),
        "extra_links": list(task.get("extra_links") or []),
    }


def _serialized(conn, dag_id: str) -> dict:
    latest = store_dags.latest_serialized(conn, dag_id)
    if latest is None:
        raise dag_not_found(dag_id)
    return latest[1]


def list_tasks(services, request):
    dag_id = request.path_params["dag_id"]
    q = Query(request)
    order_by = q.str("order_by") or "task_id"
    q.done()
    with services.engine.connect() as conn:
        data = _serialized(conn, dag_id)
    bodies = [task_body(t, data.get("params")) for t in data.get("tasks", [])]
    key = order_by.lstrip("-")
    if key not in _ORDER_KEYS:
        raise HTTPError(400, f"Ordering with '{key}' is disallowed or the attribute does not exist on the model")
    bodies.sort(key=lambda b: (b[key] is None, b[key] if b[key] is not None else 0), reverse=order_by.startswith("-"))
    return {"tasks": bodies, "total_entries": len(bodies)}


def get_task(services, request):
    dag_id, task_id = request.path_params["dag_id"], request.path_params["task_id"]
    with services.engine.connect() as conn:
        data = _serialized(conn, dag_id)
    for task in data.get("tasks", []):
        if task["task_id"] == task_id:
            return task_body(task, data.get("params"))
    raise not_found(f"Task with id {task_id} was not found")


ROUTES = [
    ("/dags/{dag_id}/tasks", ["GET"], list_tasks),
    ("/dags/{dag_id}/tasks/{task_id}", ["GET"], get_task),
]
