"""xcom: values tasks pass to each other, kept as JSON in the metadata database."""

from __future__ import annotations

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.engine import Connection

from .engine import upsert_insert
from .tables import dag_run, xcom
from .types import utcnow


# Built once: a task's return value and each new try go through these.
_OF_TASK = (xcom.c.dag_id == bindparam("dag_id"), xcom.c.run_id == bindparam("run_id"),
            xcom.c.task_id == bindparam("task_id"), xcom.c.map_index == bindparam("map_index"))
_DELETE_KEY = delete(xcom).where(*_OF_TASK, xcom.c.key == bindparam("key"))
_CLEAR_TASK = delete(xcom).where(*_OF_TASK)
_VALUES_OF_KEY = select(xcom.c.task_id, xcom.c.value).where(
    xcom.c.dag_id == bindparam("dag_id"), xcom.c.run_id == bindparam("run_id"), xcom.c.key == bindparam("key"),
    xcom.c.map_index == -1)


def get(conn: Connection, dag_id: str, run_id: str, task_id: str, key: str, map_index: int = -1):
    """The row (with `.value`) or None."""
    return conn.execute(
        select(xcom).where(xcom.c.dag_id == dag_id, xcom.c.run_id == run_id, xcom.c.task_id == task_id,
                           xcom.c.key == key, xcom.c.map_index == map_index)
    ).first()


def _upsert(dialect: str):
    """INSERT ... SELECT the run's id ... ON CONFLICT replace: a value set in one statement, not three
    (the run's id, the old value's delete, the insert), built once per dialect."""
    if dialect not in _UPSERTS:
        insert = upsert_insert(dialect)
        names = ("task_id", "map_index", "key", "value", "timestamp")
        row = select(dag_run.c.id, *(bindparam(n, type_=xcom.c[n].type) for n in names),
                     dag_run.c.dag_id, dag_run.c.run_id).where(dag_run.c.dag_id == bindparam("dag_id"),
                                                               dag_run.c.run_id == bindparam("run_id"))
        stmt = insert(xcom).from_select(["dag_run_id", *names, "dag_id", "run_id"], row)
        stmt = stmt.on_conflict_do_update(
            index_elements=[xcom.c.dag_run_id, xcom.c.task_id, xcom.c.map_index, xcom.c.key],
            set_={"value": stmt.excluded.value, "timestamp": stmt.excluded.timestamp})
        # No RETURNING on SQLite: it came with SQLite 3.35, and the executable for glibc 2.31 carries Debian
        # 11's 3.34 (Ubuntu 20.04's Python has 3.31).
        _UPSERTS[dialect] = stmt.returning(xcom.c.dag_run_id) if dialect == "postgresql" else stmt
    return _UPSERTS[dialect]


_UPSERTS: dict = {}


def set(conn: Connection, dag_id: str, run_id: str, task_id: str, key: str, value, map_index: int = -1) -> bool:
    """Store `value` under `key`, replacing an earlier one; False when the run does not exist."""
    stored = conn.execute(_upsert(conn.dialect.name), dict(
        dag_id=dag_id, run_id=run_id, task_id=task_id, map_index=map_index, key=key, value=value, timestamp=utcnow()))
    if conn.dialect.name == "postgresql":
        return stored.first() is not None  # (psycopg's rowcount of an INSERT ... SELECT is not always known)
    return stored.rowcount > 0  # SQLite counts the row inserted or updated


def delete_(conn: Connection, dag_id: str, run_id: str, task_id: str, key: str, map_index: int = -1) -> None:
    conn.execute(_DELETE_KEY, dict(dag_id=dag_id, run_id=run_id, task_id=task_id, key=key, map_index=map_index))


def clear_task(conn: Connection, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> None:
    """A new try starts with no XCom from the previous one, as in Airflow."""
    conn.execute(_CLEAR_TASK, dict(dag_id=dag_id, run_id=run_id, task_id=task_id, map_index=map_index))


def values_of_key(conn: Connection, dag_id: str, run_id: str, key: str) -> dict[str, object]:
    """{task_id: value} of one key across a run's unmapped task instances (e.g. branch decisions)."""
    rows = conn.execute(_VALUES_OF_KEY, dict(dag_id=dag_id, run_id=run_id, key=key)).all()
    return {task_id: value for task_id, value in rows}


def get_latest(conn: Connection, dag_id: str, run_id: str, task_id: str, key: str, map_index: int = -1):
    """The value from this run or the latest earlier one (by logical date): `include_prior_dates=True`."""
    this = conn.execute(select(dag_run.c.logical_date, dag_run.c.run_after).where(
        dag_run.c.dag_id == dag_id, dag_run.c.run_id == run_id)).first()
    if this is None:
        return None
    when = func.coalesce(dag_run.c.logical_date, dag_run.c.run_after)
    return conn.execute(
        select(xcom).join(dag_run, dag_run.c.id == xcom.c.dag_run_id).where(
            xcom.c.dag_id == dag_id, xcom.c.task_id == task_id, xcom.c.key == key, xcom.c.map_index == map_index,
            when <= (this.logical_date or this.run_after))
        .order_by(when.desc(), xcom.c.timestamp.desc()).limit(1)
    ).first()
