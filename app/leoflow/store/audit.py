"""log: the audit trail (eventLogs) of user actions and task state changes."""

from __future__ import annotations

import json

from sqlalchemy.engine import Connection

from .tables import log
from .types import utcnow


def record(conn: Connection, event: str, *, dag_id=None, task_id=None, run_id=None, map_index=None,
           try_number=None, logical_date=None, owner=None, extra=None) -> None:
    conn.execute(log.insert().values(
        dttm=utcnow(), event=event, dag_id=dag_id, task_id=task_id, run_id=run_id, map_index=map_index,
        try_number=try_number, logical_date=logical_date, owner=owner, owner_display_name=owner,
        extra=json.dumps(extra) if isinstance(extra, dict) else extra,
    ))
