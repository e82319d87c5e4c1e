"""GET /dagSources/{dag_id}: the DAG file's code, of the newest or a given version, as JSON or text."""

from __future__ import annotations

from sqlalchemy import select
from starlette.responses import PlainTextResponse

from ..store.tables import dag, dag_code, dag_version
from .errors import HTTPError, not_found
from .validate import Query


def get_dag_source(services, request):
    dag_id = request.path_params["dag_id"]
    q = Query(request)
    number = q.int("version_number")
    q.done()
    accept = request.headers.get("accept", "*/*")
    if not accept.startswith(("*/*", "application/json", "text/plain")):
        raise HTTPError(406, "Only application/json or text/plain is supported")
    query = (select(dag_code.c.source_code, dag_version.c.version_number, dag.c.dag_display_name)
             .join(dag_version, dag_version.c.id == dag_code.c.dag_version_id)
             .join(dag, dag.c.dag_id == dag_version.c.dag_id, isouter=True)
             .where(dag_version.c.dag_id == dag_id))
    if number is not None:
        query = query.where(dag_version.c.version_number == number)
    with services.engine.connect() as conn:
        row = conn.execute(query.order_by(dag_version.c.version_number.desc()).limit(1)).first()
    if row is None:
        raise not_found(f"The source code of the DAG {dag_id}, version_number {number} was not found")
    if accept.startswith("text/plain"):
        return PlainTextResponse(row.source_code)
    return {"content": row.source_code, "dag_id": dag_id, "version_number": row.version_number,
            "dag_display_name": row.dag_display_name or dag_id}


ROUTES = [
    ("/dagSources/{dag_id}", ["GET"], get_dag_source),
]
