"""Extra links and external log URLs of task instances.

Leoflow has no operator extra links yet, so these answer what Airflow answers for tasks without
them. The external log URL comes from the `log_external_url` setting (a template); without it,
400 as Airflow's handlers that keep logs locally do.
"""

from __future__ import annotations

from .errors import HTTPError
from .task_instances import find_ti, ti_not_found
from .tries import _int_path, _map_index


def _ti_or_404(services, request, map_index):
    p = request.path_params
    with services.engine.connect() as conn:
        row = find_ti(conn, p["dag_id"], p["dag_run_id"], p["task_id"], map_index)
    if row is None:
        raise ti_not_found(p["dag_id"], p["dag_run_id"], p["task_id"], map_index)
    return row


def get_extra_links(services, request):
    _ti_or_404(services, request, _map_index(request))
    return {"extra_links": {}, "total_entries": 0}


def get_external_log_url(services, request):
    from urllib.parse import quote

    p = request.path_params
    map_index = _map_index(request)
    try_number = _int_path(request, "try_number")
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
