"""Rows for API tests, written straight to the database (no scheduler runs in these tests)."""

from __future__ import annotations

import datetime as dt
import uuid

from leoflow.store import runs
from leoflow.store.tables import task_instance, task_instance_history, xcom
from sqlalchemy import select, update

T0 = dt.datetime(2026, 11, 29, 6, 0, 0, tzinfo=dt.UTC)


def run_with_states(client, services, states: dict[str, str | None], *, dag_id="xcom3", logical_date=None,
                    run_state="failed", xcoms=True, run_id=None) -> str:
    """Trigger a run, then give its task instances these states (one finished try each) and XComs."""
    body = {"logical_date": logical_date.isoformat() if logical_date else None}
    if run_id is not None:
        body["dag_run_id"] = run_id
    resp = client.post(f"/api/v2/dags/{dag_id}/dagRuns", json=body)
    assert resp.status_code == 200, resp.text
    run_id = resp.json()["dag_run_id"]
    with services.engine.begin() as conn:
        run = runs.get_run(conn, dag_id, run_id)
        runs.set_run_state(conn, dag_id, run_id, run_state, start_date=T0, end_date=T0 + dt.timedelta(minutes=1))
        for task_id, state in states.items():
            ran = state not in (None, "upstream_failed")
            conn.execute(update(task_instance).where(task_instance.c.run_id == run_id,
                                                     task_instance.c.task_id == task_id).values(
                state=state, try_number=1 if ran else 0, start_date=T0 if ran else None,
                end_date=T0 + dt.timedelta(seconds=2) if state else None))
            if xcoms and state == "success":
                conn.execute(xcom.insert().values(dag_run_id=run.id, task_id=task_id, map_index=-1, key="return_value",
                                                  dag_id=dag_id, run_id=run_id, value={"from": task_id}, timestamp=T0))
    return run_id


def ti_row(services, run_id, task_id, map_index=-1, dag_id="xcom3"):
    with services.engine.connect() as conn:
        return conn.execute(select(task_instance).where(
            task_instance.c.dag_id == dag_id, task_instance.c.run_id == run_id, task_instance.c.task_id == task_id,
            task_instance.c.map_index == map_index)).first()


def states(services, run_id, dag_id="xcom3") -> dict:
    with services.engine.connect() as conn:
        rows = conn.execute(select(task_instance.c.task_id, task_instance.c.map_index, task_instance.c.state).where(
            task_instance.c.dag_id == dag_id, task_instance.c.run_id == run_id)).all()
    return {(r.task_id if r.map_index < 0 else (r.task_id, r.map_index)): r.state for r in rows}


def xcom_tasks(services, run_id) -> set[str]:
    with services.engine.connect() as conn:
        return set(conn.execute(select(xcom.c.task_id).where(xcom.c.run_id == run_id)).scalars())


def add_mapped(services, run_id, task_id="transform", count=3, dag_id="xcom3") -> list[str]:
    """Expanded instances of `task_id` (map_index 0..count-1), as the scheduler makes for a mapped task;
    the first one on its second try with the first in history."""
    with services.engine.begin() as conn:
        base = conn.execute(select(task_instance).where(
            task_instance.c.dag_id == dag_id, task_instance.c.run_id == run_id,
            task_instance.c.task_id == task_id)).mappings().first()
        ids = []
        for index in range(count):
            row = {**base, "id": str(uuid.uuid4()), "map_index": index, "state": "success",
                   "try_number": 2 if index == 0 else 1, "start_date": T0, "end_date": T0 + dt.timedelta(seconds=1),
                   "rendered_map_index": f"item {index}"}
            conn.execute(task_instance.insert().values(**row))
            ids.append(row["id"])
            if index == 0:
                past = {k: v for k, v in row.items() if k != "id"}
                past.update(task_instance_id=row["id"], try_number=1, state="failed")
                conn.execute(task_instance_history.insert().values(**past))
    return ids
