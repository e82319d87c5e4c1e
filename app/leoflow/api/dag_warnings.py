"""/dagWarnings: problems found in DAGs that do not stop them from loading."""

from __future__ import annotations

from sqlalchemy import select

from ..store.tables import dag_warning
from . import queries
from .errors import ValidationFailed, invalid
from .serializers import iso
from .validate import Query

WARNING_TYPES = ("asset conflict", "non-existent pool", "runtime varying value")
_ORDER = {name: dag_warning.c[name] for name in ("dag_id", "warning_type", "message", "timestamp")}


def list_dag_warnings(services, request):
    q = Query(request)
    limit, offset = q.paging()
    q.done()
    query = select(dag_warning)
    if (dag_id := q.str("dag_id")) is not None:
        query = query.where(dag_warning.c.dag_id == dag_id)
    if (kind := q.str("warning_type")) is not None:
        if kind not in WARNING_TYPES:
            expected = ", ".join(f"'{t}'" for t in WARNING_TYPES[:-1]) + f" or '{WARNING_TYPES[-1]}'"
            raise ValidationFailed([invalid(["query", "warning_type"], f"Input should be {expected}", kind, "enum",
                                            {"expected": expected})])
        query = query.where(dag_warning.c.warning_type == kind)
    query = queries.ordered(query, q.list("order_by"), _ORDER, ["dag_id"],
                            tiebreak=dag_warning.c.warning_type)
    with services.engine.connect() as conn:
        rows, total = queries.page(conn, query, limit, offset)
    return {"dag_warnings": [{"dag_id": r.dag_id, "warning_type": r.warning_type, "message": r.message,
                              "timestamp": iso(r.timestamp), "dag_display_name": r.dag_id} for r in rows],
            "total_entries": total}


ROUTES = [("/dagWarnings", ["GET"], list_dag_warnings)]
