"""GET /dags/{dag_id}/dagVersions[/{version_number}] (dag_id `~` = every DAG)."""

from __future__ import annotations

from sqlalchemy import select

from ..store import dags as store_dags
from ..store.tables import dag, dag_version
from . import queries, serializers
from .dags import dag_not_found
from .errors import not_found
from .validate import Query, path_int

_ORDER = {
    "id": dag_version.c.id,
    "version_number": dag_version.c.version_number,
    "bundle_name": dag_version.c.bundle_name,
    "bundle_version": dag_version.c.bundle_version,
    "created_at": dag_version.c.created_at,
    "dag_id": dag_version.c.dag_id,
}

_DISPLAY = dag.c.dag_display_name.label("dag_display_name")


def _joined():
    return select(dag_version, _DISPLAY).join(dag, dag.c.dag_id == dag_version.c.dag_id, isouter=True)


def version_body(row) -> dict:
    body = serializers.dag_version(row)
    body["dag_display_name"] = row.dag_display_name or row.dag_id
    return body


def list_versions(services, request):
    dag_id = request.path_params["dag_id"]
    q = Query(request)
    limit, offset = q.paging()
    number = q.int("version_number")
    q.done()
    query = _joined()
    if number is not None:
        query = query.where(dag_version.c.version_number == number)
    for column, name in ((dag_version.c.bundle_name, "bundle_name"), (dag_version.c.bundle_version, "bundle_version")):
        if q.str(name):
            query = query.where(column == q.str(name))
    query = queries.ordered(query, q.list("order_by"), _ORDER, ["id"], tiebreak=dag_version.c.version_number)
    with services.engine.connect() as conn:
        if dag_id != "~":
            if store_dags.get_dag(conn, dag_id) is None:
                raise dag_not_found(dag_id)
            query = query.where(dag_version.c.dag_id == dag_id)
        rows, total = queries.page(conn, query, limit, offset)
    return {"dag_versions": [version_body(r) for r in rows], "total_entries": total}


def get_version(services, request):
    dag_id = request.path_params["dag_id"]
    number = path_int(request, "version_number")
    with services.engine.connect() as conn:
        row = conn.execute(_joined().where(dag_version.c.dag_id == dag_id,
                                           dag_version.c.version_number == number)).first()
    if row is None:
        raise not_found(f"The DagVersion with dag_id: `{dag_id}` and version_number: `{number}` was not found")
    return version_body(row)


ROUTES = [
    ("/dags/{dag_id}/dagVersions", ["GET"], list_versions),
    ("/dags/{dag_id}/dagVersions/{version_number}", ["GET"], get_version),
]
