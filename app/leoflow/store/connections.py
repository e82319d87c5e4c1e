"""connection: how tasks reach outside systems."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import Connection

from .tables import connection


def get(conn: Connection, conn_id: str):
    return conn.execute(select(connection).where(connection.c.conn_id == conn_id)).first()
