"""Extra links, external log URLs and human-in-the-loop details of task instances.

Leoflow serves task logs itself and has no human-in-the-loop operators yet, so these answer
what Airflow answers for tasks without such features: no links, no external URL, no HITL details.
"""

from __future__ import annotations

from .errors import HTTPError, not_found
from .task_instances import find_ti, ti_not_found
from .tries import _int_path, _map_index
from .validate import Query


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
    _ti_or_404(services, request, _map_index(request))
    raise HTTPError(400, "Task log handler does not support external logs.")


def get_hitl_details(services, request):
    q = Query(request)
    q.paging()
    q.done()
    return {"hitl_details": [], "total_entries": 0}


def _no_hitl(services, request):
    p = request.path_params
    map_index = _int_path(request, "map_index")
    _ti_or_404(services, request, map_index)
    raise not_found(f"Human-in-the-loop detail does not exist for Task Instance with id {p['task_id']}")


_TI = "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances/{task_id}"

ROUTES = [
    (_TI + "/links", ["GET"], get_extra_links),
    (_TI + "/externalLogUrl/{try_number}", ["GET"], get_external_log_url),
    ("/dags/{dag_id}/dagRuns/{dag_run_id}/hitlDetails", ["GET"], get_hitl_details),
    (_TI + "/{map_index}/hitlDetails", ["GET", "PATCH"], _no_hitl),
    (_TI + "/{map_index}/hitlDetails/tries/{try_number}", ["GET"], _no_hitl),
]
