"""task_map: how many items a task's pushed XCom result holds, for tasks mapped over it."""

from __future__ import annotations

from sqlalchemy import bindparam, delete, func, select, text
from sqlalchemy.engine import Connection

from .tables import task_map, xcom


def record(conn: Connection, dag_id: str, run_id: str, task_id: str, map_index: int, length: int,
           keys: list | None = None) -> None:
    key = (task_map.c.dag_id == dag_id, task_map.c.run_id == run_id, task_map.c.task_id == task_id,
           task_map.c.map_index == map_index)
    conn.execute(delete(task_map).where(*key))
    conn.execute(task_map.insert().values(dag_id=dag_id, run_id=run_id, task_id=task_id, map_index=map_index,
                                          length=length, keys=keys))


_CLEAR = delete(task_map).where(task_map.c.dag_id == bindparam("dag_id"), task_map.c.run_id == bindparam("run_id"),
                                task_map.c.task_id == bindparam("task_id"),
                                task_map.c.map_index == bindparam("map_index"))  # built once: every new try


# Postgres deletes both in one statement (a data-modifying WITH); every task start runs it.
_CLEAR_OUTPUTS_POSTGRES = text(
    "WITH gone AS (DELETE FROM xcom WHERE dag_id = :dag_id AND run_id = :run_id AND task_id = :task_id "
    "AND map_index = :map_index) "
    "DELETE FROM task_map WHERE dag_id = :dag_id AND run_id = :run_id AND task_id = :task_id "
    "AND map_index = :map_index")


def clear_outputs(conn: Connection, dag_id: str, run_id: str, task_id: str, map_index: int) -> None:
    """A new try starts with none of the previous try's XComs and no mapping length from them (as in
    Airflow); one round trip on Postgres, two statements on SQLite (which has no DELETE in WITH)."""
    params = dict(dag_id=dag_id, run_id=run_id, task_id=task_id, map_index=map_index)
    if conn.dialect.name == "postgresql":
        conn.execute(_CLEAR_OUTPUTS_POSTGRES, params)
        return
    from .xcoms import clear_task

    clear_task(conn, dag_id, run_id, task_id, map_index)
    conn.execute(_CLEAR, params)


def lengths_of_run(conn: Connection, dag_id: str, run_id: str) -> dict[str, int]:
    """{task_id: length} of the run's unmapped tasks' results."""
    rows = conn.execute(select(task_map.c.task_id, task_map.c.length).where(
        task_map.c.dag_id == dag_id, task_map.c.run_id == run_id, task_map.c.map_index < 0)).all()
    return {task_id: length for task_id, length in rows}


def result_counts_of_run(conn: Connection, dag_id: str, run_id: str) -> dict[str, int]:
    """{task_id: number of map indexes that pushed a return value} (a mapped upstream's length)."""
    rows = conn.execute(select(xcom.c.task_id, func.count()).where(
        xcom.c.dag_id == dag_id, xcom.c.run_id == run_id, xcom.c.map_index >= 0,
        xcom.c.key == "return_value").group_by(xcom.c.task_id)).all()
    return {task_id: n for task_id, n in rows}
