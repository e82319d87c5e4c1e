"""log: the audit trail (eventLogs) of user actions and task state changes."""

from __future__ import annotations

import json

from sqlalchemy.engine import Connection

from .tables import log
from .types import utcnow


def record(conn: Connection, event: str, *, dag_id=None, task_id=None, run_id=None, map_index=None,
           try_number=None, logical_date=None, owner=None, extra=None) -> None:
    conn.execute(_INSERT, dict(
        dttm=utcnow(), event=event, dag_id=dag_id, task_id=task_id, run_id=run_id, map_index=map_index,
        try_number=try_number, logical_date=logical_date, owner=owner, owner_display_name=owner,
        extra=json.dumps(extra) if isinstance(extra, dict) else extra,
    ))


_INSERT = log.insert()  # built once: every task state change is recorded


PARSE_REQUEST = "reparse_dag_file"  # the audit event of "parse this DAG file again" (the request: parse_requests)


def record_parse_request(conn: Connection, *, owner: str, file_token: str, bundle_name, relative_fileloc,
                         fileloc) -> None:
    record(conn, PARSE_REQUEST, owner=owner, extra={
        "file_token": file_token, "bundle_name": bundle_name, "relative_fileloc": relative_fileloc, "fileloc": fileloc,
        "method": "PUT"})
