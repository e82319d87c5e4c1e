"""variable: key/value settings DAGs read at run time."""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Connection

from .tables import variable


def get(conn: Connection, key: str):
    return conn.execute(select(variable).where(variable.c.key == key)).first()


def put(conn: Connection, key: str, value: str, description: str | None = None) -> None:
    if get(conn, key) is None:
        conn.execute(variable.insert().values(key=key, val=value, description=description, is_encrypted=False))
    else:
        conn.execute(update(variable).where(variable.c.key == key).values(val=value, description=description))


def remove(conn: Connection, key: str) -> bool:
    return conn.execute(delete(variable).where(variable.c.key == key)).rowcount > 0
