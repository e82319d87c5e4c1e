"""PUT /parseDagFile/{file_token}: ask the DAG processor to parse a file again now.

The request is the `reparse_dag_file` audit record (durable, its `extra` names the
file) plus a wake-up on the bus queue `PARSE_QUEUE`. The DAG processor, on that event
or when it finds audit records newer than its last pass (`store.audit.parse_requests`),
parses the named file even if it did not change.
"""

from __future__ import annotations

from sqlalchemy import select

from ..store import audit
from ..store.tables import dag
from . import admin_common as common
from .errors import not_found
from .serializers import read_file_token

PARSE_QUEUE = "leoflow:dagproc:parse"


def reparse_dag_file(services, request):
    token = request.path_params["file_token"]
    payload = read_file_token(services.settings.secret("jwt"), token)
    if not isinstance(payload, dict):
        raise not_found("File not found")
    bundle, relative = payload.get("bundle_name"), payload.get("relative_fileloc")
    with services.engine.connect() as conn:
        row = conn.execute(select(dag.c.fileloc).where(dag.c.bundle_name == bundle,
                                                       dag.c.relative_fileloc == relative).limit(1)).first()
    if row is None:
        raise not_found("File not found")
    with services.engine.begin() as conn:
        audit.record_parse_request(conn, owner=common.user_name(request), file_token=token, bundle_name=bundle,
                                   relative_fileloc=relative, fileloc=row.fileloc)
    services.bus.push(PARSE_QUEUE, {"bundle_name": bundle, "relative_fileloc": relative, "fileloc": row.fileloc})
    return None, 201


ROUTES = [("/parseDagFile/{file_token}", ["PUT"], reparse_dag_file)]
