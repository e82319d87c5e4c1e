"""Task log lines kept in the database, so any server replica can serve a try's log wherever it ran.

Chunks are whole JSON-lines records, numbered per try from 0: a chunk sent twice (its answer was lost)
is stored once.
"""

from __future__ import annotations

from sqlalchemy import func, select

from .engine import upsert_insert, without_waiting_for_disk
from .tables import task_log_chunk as chunk
from .types import utcnow


def _where(dag_id, run_id, task_id, map_index, try_number):
    return (chunk.c.dag_id == dag_id, chunk.c.run_id == run_id, chunk.c.task_id == task_id,
            chunk.c.map_index == map_index, chunk.c.try_number == try_number)


def append(conn, key: tuple, seq: int, lines: str) -> bool:
    """Store chunk `seq` of the try `key` = (dag_id, run_id, task_id, map_index, try_number); False if known."""
    return append_many(conn, [(key, seq, lines)]) == 1


def append_many(conn, chunks: list[tuple[tuple, int, str]]) -> int:
    """Store (key, seq, lines) chunks in one statement; how many were new (a chunk sent twice is kept once)."""
    if not chunks:
        return 0
    without_waiting_for_disk(conn)  # log lines: the WAL writer or the next ordinary commit flushes them
    insert = upsert_insert(conn.dialect.name)
    now = utcnow()
    rows = [dict(dag_id=dag_id, run_id=run_id, task_id=task_id, map_index=map_index, try_number=try_number,
                 seq=seq, lines=lines, created_at=now)
            for (dag_id, run_id, task_id, map_index, try_number), seq, lines in chunks]
    # ON CONFLICT rather than a savepoint around the insert: one round trip, not three.
    stmt = insert(chunk).values(rows).on_conflict_do_nothing()
    if conn.dialect.name == "postgresql":
        return len(conn.execute(stmt.returning(chunk.c.id)).all())
    # SQLite before 3.35 (the glibc-2.31 executable's, Ubuntu 20.04's) has no RETURNING; it counts the rows
    # inserted, which leaves out those ON CONFLICT skipped.
    return conn.execute(stmt).rowcount


def read(conn, key: tuple) -> str:
    """Every stored line of the try, in order ("" when none)."""
    rows = conn.execute(select(chunk.c.lines).where(*_where(*key)).order_by(chunk.c.seq)).scalars()
    return "".join(rows)


def next_seq(conn, key: tuple) -> int:
    top = conn.execute(select(func.max(chunk.c.seq)).where(*_where(*key))).scalar()
    return 0 if top is None else top + 1
