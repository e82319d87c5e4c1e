"""Execution API: `GET /connections/{connection_id}`, with the password and extra in clear for the task."""

from __future__ import annotations

from ..store import connections
from .http import not_found, respond

FIELDS = ("conn_id", "conn_type", "host", "schema", "login", "password", "port", "extra")


def get_connection(call, connection_id):
    with call.engine.connect() as conn:
        row = connections.get(conn, connection_id)
    if row is None:
        raise not_found(f"Connection with ID {connection_id} not found")
    data = connections.clear(row, call.services.crypt)
    return respond({k: data[k] for k in FIELDS})
