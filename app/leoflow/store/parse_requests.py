"""dag_priority_parsing_request: files a user asked to have parsed again (PUT /parseDagFile).

The API adds a row (one per file however often asked); the DAG processor takes the
rows of its bundle, deleting them, and parses those files before anything else.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import delete, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from .tables import dag_priority_parsing_request as request_table


def request_id(bundle_name: str, relative_fileloc: str) -> str:
    return hashlib.md5(f"{bundle_name}:{relative_fileloc}".encode(), usedforsecurity=False).hexdigest()


def add(conn: Connection, bundle_name: str, relative_fileloc: str) -> None:
    """Ask for the file to be parsed again; asking again before it was taken changes nothing."""
    key = request_id(bundle_name, relative_fileloc)
    if conn.execute(select(request_table.c.id).where(request_table.c.id == key)).first() is not None:
        return
    try:
        with conn.begin_nested():
            conn.execute(request_table.insert().values(id=key, bundle_name=bundle_name,
                                                       relative_fileloc=relative_fileloc))
    except IntegrityError:  # another request for the same file got in first
        pass


def take(conn: Connection, bundle_name: str) -> list[str]:
    """The requested files of one bundle (relative paths), removed from the table."""
    rows = conn.execute(select(request_table.c.id, request_table.c.relative_fileloc)
                        .where(request_table.c.bundle_name == bundle_name)).all()
    if rows:
        conn.execute(delete(request_table).where(request_table.c.id.in_([r.id for r in rows])))
    return sorted({r.relative_fileloc for r in rows})
