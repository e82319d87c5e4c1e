"""Extra links and external log URLs of task instances.

A task's extra links are resolved in its own process and kept as XComs (`extra_link_keys` of the
serialized task says which); a link without a URL yet is null, as in Airflow. The external log URL
comes from the `log_external_url` setting (a template); without it, 400 as Airflow's handlers that
keep logs locally do.
"""

from __future__ import annotations

from .errors import HTTPError
from .task_instances import find_ti, ti_not_found
from .tries import _map_index
from .validate import path_int


def _ti_or_404(services, request, map_index):
    p = request.path_params
    with services.engine.connect() as conn:
        row = find_ti(conn, p["dag_id"], p["dag_run_id"], p["task_id"], map_index)
    if row is None:
        raise ti_not_found(p["dag_id"], p["dag_run_id"], p["task_id"], map_index)
    return row


def get_extra_links(services, request):
    from ..scheduler.serde import decode
    from ..store import dags as store_dags, xcoms

    p = request.path_params
    map_index = _map_index(request)
    row = _ti_or_404(services, request, map_index)
    with services.engine.connect() as conn:
        version = getattr(row, "dag_version_id", None)
        data = store_dags.serialized_by_version(conn, version) if version else None
        if data is None:
            latest = store_dags.latest_serialized(conn, p["dag_id"])
            data = latest[1] if latest else {}
        task = next((t for t in data.get("tasks", []) if t["task_id"] == p["task_id"]), None)
        if task is None:
            raise HTTPError(404, f"Task with ID = {p['task_id']} not found")
        links = {}
        for name, key in sorted((task.get("extra_link_keys") or {}).items()):
            found = xcoms.get(conn, p["dag_id"], p["dag_run_id"], p["task_id"], key, map_index)
            links[name] = (decode(found.value) if found is not None else None) or None
    return {"extra_links": links, "total_entries": len(links)}


def get_external_log_url(services, request):
    from urllib.parse import quote

    p = request.path_params
    map_index = _map_index(request)
    try_number = path_int(request, "try_number")
    _ti_or_404(services, request, map_index)
    template = services.settings.log_external_url
    if not template:
        raise HTTPError(400, "Task log handler does not support external logs.")
    values = {"dag_id": p["dag_id"], "run_id": p["dag_run_id"], "task_id": p["task_id"], "map_index": map_index,
              "try_number": try_number}
    return {"url": template.format(**{k: quote(str(v), safe="") for k, v in values.items()})}


_TI = "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}"

ROUTES = [
    (_TI + "/links", ["GET"], get_extra_links),
    (_TI + "/externalLogUrl/{try_number}", ["GET"], get_external_log_url),
]
