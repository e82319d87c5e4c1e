"""dag, dag_tag, dag_version, dag_code, serialized_dag, import_error: what the DAG processor writes."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Connection

from .tables import dag, dag_code, dag_tag, dag_version, import_error, serialized_dag
from .ids import uuid7
from .types import utcnow

BUNDLE = "dags-folder"


def dag_hash(data: dict) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class SyncResult:
    dag_id: str
    version_id: str
    version_number: int
    changed: bool  # a new version was written


def latest_version(conn: Connection, dag_id: str):
    return conn.execute(
        select(dag_version.c.id, dag_version.c.version_number, serialized_dag.c.dag_hash, serialized_dag.c.data)
        .join(serialized_dag, serialized_dag.c.dag_version_id == dag_version.c.id)
        .where(dag_version.c.dag_id == dag_id)
        .order_by(dag_version.c.version_number.desc())
        .limit(1)
    ).first()


def _latest_hash(conn: Connection, dag_id: str):
    return conn.execute(
        select(dag_version.c.id, dag_version.c.version_number, serialized_dag.c.dag_hash)
        .join(serialized_dag, serialized_dag.c.dag_version_id == dag_version.c.id)
        .where(dag_version.c.dag_id == dag_id)
        .order_by(dag_version.c.version_number.desc())
        .limit(1)
    ).first()


def latest_serialized(conn: Connection, dag_id: str) -> tuple[str, dict] | None:
    row = latest_version(conn, dag_id)
    return (row.id, row.data) if row else None


def serialized_by_version(conn: Connection, version_id: str) -> dict | None:
    return conn.execute(
        select(serialized_dag.c.data).where(serialized_dag.c.dag_version_id == version_id)
    ).scalar()


def sync_dag(conn: Connection, data: dict, *, source_code: str, relative_fileloc: str,
             paused_by_default: bool = False) -> SyncResult:
    """Upsert the dag row; write a new version (serialized DAG + source) only if the DAG changed."""
    now = utcnow()
    dag_id = data["dag_id"]
    digest = dag_hash(data)
    existing = conn.execute(select(dag.c.dag_id).where(dag.c.dag_id == dag_id)).first()
    row = dict(
        is_stale=False,
        last_parsed_time=now,
        fileloc=data.get("fileloc"),
        relative_fileloc=relative_fileloc,
        bundle_name=BUNDLE,
        owners=data.get("owner") or "airflow",
        description=data.get("description"),
        timetable_summary=data.get("timetable_summary"),
        timetable_description=data.get("timetable_description"),
        max_active_tasks=data.get("max_active_tasks", 16),
        max_active_runs=data.get("max_active_runs", 16),
        has_import_errors=False,
    )
    if existing is None:
        paused = data.get("is_paused_upon_creation")
        conn.execute(dag.insert().values(dag_id=dag_id, is_paused=paused_by_default if paused is None else paused, **row))
    else:
        conn.execute(update(dag).where(dag.c.dag_id == dag_id).values(**row))
    _sync_tags(conn, dag_id, data.get("tags") or [])

    last = _latest_hash(conn, dag_id)  # not the serialized data: an unchanged DAG is the common case
    if last is not None and last.dag_hash == digest:
        return SyncResult(dag_id, last.id, last.version_number, changed=False)
    version_id = uuid7()
    number = (last.version_number + 1) if last else 1
    conn.execute(dag_version.insert().values(
        id=version_id, version_number=number, dag_id=dag_id, bundle_name=BUNDLE,
        bundle_version=None, created_at=now, last_updated=now))
    conn.execute(serialized_dag.insert().values(
        id=str(uuid.uuid4()), dag_id=dag_id, dag_version_id=version_id, data=data,
        dag_hash=digest, created_at=now, last_updated=now))
    conn.execute(dag_code.insert().values(
        id=str(uuid.uuid4()), dag_version_id=version_id, dag_id=dag_id, fileloc=data.get("fileloc") or "",
        source_code=source_code, source_code_hash=hashlib.sha256(source_code.encode()).hexdigest(),
        created_at=now, last_updated=now))
    return SyncResult(dag_id, version_id, number, changed=True)


def _sync_tags(conn: Connection, dag_id: str, tags: list[str]) -> None:
    have = set(conn.execute(select(dag_tag.c.name).where(dag_tag.c.dag_id == dag_id)).scalars())
    want = set(tags)
    if have - want:
        conn.execute(delete(dag_tag).where(dag_tag.c.dag_id == dag_id, dag_tag.c.name.in_(have - want)))
    if want - have:
        conn.execute(dag_tag.insert(), [{"dag_id": dag_id, "name": t} for t in sorted(want - have)])


def mark_stale(conn: Connection, fileloc: str, keep: set[str]) -> list[str]:
    """DAGs that `fileloc` used to define but no longer does become stale (hidden, never run)."""
    gone = list(conn.execute(
        select(dag.c.dag_id).where(dag.c.fileloc == fileloc, dag.c.is_stale.is_(False), dag.c.dag_id.not_in(keep or {""}))
    ).scalars())
    if gone:
        conn.execute(update(dag).where(dag.c.dag_id.in_(gone)).values(is_stale=True))
    return gone


def touch_parsed(conn: Connection, fileloc: str, dag_ids: set[str]) -> bool:
    """Mark the file's DAGs parsed now, if exactly `dag_ids` are its live DAGs; False (nothing written) if not.

    A re-parse that found what the last one found: the DAGs' versions, tags and assets stand as they are."""
    live = set(conn.execute(select(dag.c.dag_id).where(dag.c.fileloc == fileloc, dag.c.is_stale.is_(False))).scalars())
    if live != dag_ids:
        return False
    if live:
        conn.execute(update(dag).where(dag.c.fileloc == fileloc, dag.c.is_stale.is_(False))
                     .values(last_parsed_time=utcnow()))
    return True


def touch_import_error(conn: Connection, filename: str) -> bool:
    """The file failed as before: its import error gets the new parse time; False if it has none."""
    return conn.execute(update(import_error).where(import_error.c.filename == filename)
                        .values(timestamp=utcnow())).rowcount > 0


def known_filelocs(conn: Connection) -> set[str]:
    return set(conn.execute(select(dag.c.fileloc).where(dag.c.is_stale.is_(False))).scalars())


def set_import_error(conn: Connection, filename: str, stacktrace: str) -> None:
    """The file's import error, updated in place when it had one (its id stays, as the API shows it)."""
    updated = conn.execute(update(import_error).where(import_error.c.filename == filename).values(
        timestamp=utcnow(), bundle_name=BUNDLE, stacktrace=stacktrace)).rowcount
    if not updated:
        conn.execute(import_error.insert().values(
            timestamp=utcnow(), filename=filename, bundle_name=BUNDLE, stacktrace=stacktrace))
    conn.execute(update(dag).where(dag.c.fileloc == filename).values(has_import_errors=True))


def clear_import_error(conn: Connection, filename: str) -> None:
    conn.execute(delete(import_error).where(import_error.c.filename == filename))


def import_errors(conn: Connection):
    return conn.execute(select(import_error).order_by(import_error.c.id)).all()


def get_dag(conn: Connection, dag_id: str):
    return conn.execute(select(dag).where(dag.c.dag_id == dag_id)).first()


def set_paused(conn: Connection, dag_id: str, paused: bool) -> bool:
    return conn.execute(update(dag).where(dag.c.dag_id == dag_id).values(is_paused=paused)).rowcount > 0


def set_next_run(conn: Connection, dag_id: str, nxt) -> None:
    conn.execute(update(dag).where(dag.c.dag_id == dag_id).values(
        next_dagrun=nxt.logical_date if nxt else None,
        next_dagrun_data_interval_start=nxt.data_interval[0] if nxt else None,
        next_dagrun_data_interval_end=nxt.data_interval[1] if nxt else None,
        next_dagrun_create_after=nxt.run_after if nxt else None,
    ))


def count_dags(conn: Connection) -> int:
    return conn.execute(select(func.count()).select_from(dag).where(dag.c.is_stale.is_(False))).scalar()
