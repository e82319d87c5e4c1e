"""PUT /parseDagFile/{file_token}: ask the DAG processor to parse a file again now.

The request is a `dag_priority_parsing_request` row (durable, one per file; see
`store.parse_requests`), the `reparse_dag_file` audit record, and a wake-up on the
bus queue `DAG_PROCESSOR_QUEUE`. The DAG processor takes the row at once on that
wake-up, or on its next pass if the wake-up was lost, and parses the file first
even if it did not change. As in Airflow, the file must be one a DAG row names.
"""

from __future__ import annotations

from sqlalchemy import select

from ..bus.bus import DAG_PROCESSOR_QUEUE
from ..store import audit, parse_requests
from ..store.tables import dag
from . import admin_common as common
from .errors import not_found
from .serializers import read_file_token

PARSE_QUEUE = DAG_PROCESSOR_QUEUE


def reparse_dag_file(services, request):
    token = request.path_params["file_token"]
    payload = read_file_token(services.settings.secret("jwt"), token)
    if not isinstance(payload, dict):
        raise not_found("File not found")
    bundle, relative = payload.get("bundle_name"), payload.get("relative_fileloc")
    if not isinstance(bundle, str) or not isinstance(relative, str):
        raise not_found("File not found")
    with services.engine.begin() as conn:
        row = conn.execute(select(dag.c.fileloc).where(dag.c.bundle_name == bundle,
                                                       dag.c.relative_fileloc == relative).limit(1)).first()
        if row is None:
            raise not_found("File not found")
        parse_requests.add(conn, bundle, relative)
        audit.record_parse_request(conn, owner=common.user_name(request), file_token=token, bundle_name=bundle,
                                   relative_fileloc=relative, fileloc=row.fileloc)
    services.bus.notify_dag_processor(bundle_name=bundle, relative_fileloc=relative, fileloc=row.fileloc)
    return None, 201


ROUTES = [("/parseDagFile/{file_token}", ["PUT"], reparse_dag_file)]
