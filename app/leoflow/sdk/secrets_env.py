"""Variables and Connections from environment variables, looked up before the server's.

As in Airflow 3.2, `AIRFLOW_VAR_<KEY>` defines Variable `key` and
`AIRFLOW_CONN_<CONN_ID>` Connection `conn_id` (names upper-cased), and they win
over what the server stores. The lookup happens in the process that asks (a
task, or a DAG file being parsed), so it works the same under any runner and
whatever serves the Execution API. A connection value is a URI or a JSON object
(`Connection.from_uri` / `Connection.from_json`).
"""

from __future__ import annotations

import logging
import os

VAR_PREFIX = "AIRFLOW_VAR_"
CONN_PREFIX = "AIRFLOW_CONN_"


def variable(key: str) -> str | None:
    return os.environ.get(VAR_PREFIX + key.upper())


def connection(conn_id: str):
    """The Connection an environment variable defines, or None (also when its value does not parse:
    Airflow then goes on to the next place to look, and so does Leoflow, saying why in the log)."""
    value = os.environ.get(CONN_PREFIX + conn_id.upper())
    if not value or not value.strip():
        return None
    from leoflow.sdk.connection import Connection

    try:
        value = value.strip()
        if value.startswith("{"):
            return Connection.from_json(value, conn_id=conn_id)
        return Connection.from_uri(value, conn_id=conn_id)
    except Exception as exc:
        logging.getLogger(__name__).warning("Ignoring %s%s: %s", CONN_PREFIX, conn_id.upper(), exc)
        return None
