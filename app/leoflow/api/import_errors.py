"""GET /importErrors and /importErrors/{import_error_id}: DAG files that failed to parse."""

from __future__ import annotations

from sqlalchemy import select

from ..store.tables import import_error
from . import queries, serializers
from .errors import not_found
from .validate import Query, path_int

_ORDER = {
    "id": import_error.c.id,
    "import_error_id": import_error.c.id,
    "timestamp": import_error.c.timestamp,
    "filename": import_error.c.filename,
    "bundle_name": import_error.c.bundle_name,
    "stacktrace": import_error.c.stacktrace,
}


def list_import_errors(services, request):
    q = Query(request)
    limit, offset = q.paging()
    q.done()
    query = select(import_error)
    if (cond := queries.like_any(import_error.c.filename, q.str("filename_pattern"))) is not None:
        query = query.where(cond)
    query = queries.ordered(query, q.list("order_by"), _ORDER, ["id"], tiebreak=import_error.c.id)
    with services.engine.connect() as conn:
        rows, total = queries.page(conn, query, limit, offset)
    return {"import_errors": [serializers.import_error(r) for r in rows], "total_entries": total}


def get_import_error(services, request):
    import_error_id = path_int(request, "import_error_id")
    with services.engine.connect() as conn:
        row = conn.execute(select(import_error).where(import_error.c.id == import_error_id)).first()
    if row is None:
        raise not_found(f"The ImportError with import_error_id: `{import_error_id}` was not found")
    return serializers.import_error(row)


ROUTES = [
    ("/importErrors", ["GET"], list_import_errors),
    ("/importErrors/{import_error_id}", ["GET"], get_import_error),
]
