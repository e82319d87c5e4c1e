"""Runs, task instances, XCom and DAG versions on both databases."""

import datetime as dt

import pytest

from leoflow.store import dags, runs, tis, xcoms
from leoflow.store.types import utcnow


def serialized(dag_id="etl", extra_task=False):
    tasks = [
        {"task_id": "extract", "upstream": [], "downstream": ["load"], "retries": 2, "task_type": "PythonOperator"},
        {"task_id": "load", "upstream": ["extract"], "downstream": [], "task_type": "PythonOperator"},
    ]
    if extra_task:
        tasks.append({"task_id": "report", "upstream": [], "downstream": [], "task_type": "EmptyOperator"})
    return {"dag_id": dag_id, "fileloc": f"/dags/{dag_id}.py", "tags": ["a", "b"], "tasks": tasks}


def test_sync_dag_versions_only_on_change(engine):
    with engine.begin() as conn:
        first = dags.sync_dag(conn, serialized(), source_code="x", relative_fileloc="etl.py")
        again = dags.sync_dag(conn, serialized(), source_code="x", relative_fileloc="etl.py")
        changed = dags.sync_dag(conn, serialized(extra_task=True), source_code="y", relative_fileloc="etl.py")
    assert (first.version_number, first.changed) == (1, True)
    assert (again.version_number, again.changed) == (1, False)
    assert (changed.version_number, changed.changed) == (2, True)
    with engine.connect() as conn:
        version_id, data = dags.latest_serialized(conn, "etl")
    assert version_id == changed.version_id and len(data["tasks"]) == 3


def test_create_run_makes_one_task_instance_per_task_and_refuses_duplicates(engine):
    with engine.begin() as conn:
        v = dags.sync_dag(conn, serialized(), source_code="x", relative_fileloc="etl.py")
        when = dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc)
        run = runs.create_dag_run(conn, serialized(), dag_version_id=v.version_id, run_type="manual",
                                  run_after=when, logical_date=when, conf={"rows": 1})
    assert run["run_id"] == "manual__2026-01-05T00:00:00+00:00"
    with engine.connect() as conn:
        rows = tis.tis_of_run(conn, "etl", run["run_id"])
        stored = runs.get_run(conn, "etl", run["run_id"])
    assert sorted((r.task_id, r.state, r.max_tries) for r in rows) == [("extract", None, 2), ("load", None, 0)]
    assert stored.conf == {"rows": 1} and stored.logical_date == when and stored.state == "queued"
    with pytest.raises(runs.RunExists):
        with engine.begin() as conn:
            runs.create_dag_run(conn, serialized(), dag_version_id=v.version_id, run_type="manual",
                                run_after=when, logical_date=when)


def test_xcom_round_trip_and_overwrite(engine):
    with engine.begin() as conn:
        v = dags.sync_dag(conn, serialized(), source_code="x", relative_fileloc="etl.py")
        run = runs.create_dag_run(conn, serialized(), dag_version_id=v.version_id, run_type="manual",
                                  run_after=utcnow())
        assert xcoms.set(conn, "etl", run["run_id"], "extract", "return_value", {"rows": 100})
        assert xcoms.set(conn, "etl", run["run_id"], "extract", "return_value", {"rows": 200})
        assert not xcoms.set(conn, "etl", "no-such-run", "extract", "return_value", 1)
    with engine.connect() as conn:
        assert xcoms.get(conn, "etl", run["run_id"], "extract", "return_value").value == {"rows": 200}
        assert xcoms.get(conn, "etl", run["run_id"], "extract", "other") is None


def test_state_changes_and_history(engine):
    with engine.begin() as conn:
        v = dags.sync_dag(conn, serialized(), source_code="x", relative_fileloc="etl.py")
        run = runs.create_dag_run(conn, serialized(), dag_version_id=v.version_id, run_type="manual",
                                  run_after=utcnow())
        extract = next(r for r in tis.tis_of_run(conn, "etl", run["run_id"]) if r.task_id == "extract")
        tis.set_scheduled(conn, [extract.id], utcnow())
        assert tis.set_queued(conn, extract.id, None, "LocalExecutor", utcnow())
        assert not tis.set_queued(conn, extract.id, None, "LocalExecutor", utcnow())  # only from scheduled
        assert tis.finish_try(conn, extract.id, "up_for_retry")
        tis.record_history(conn, extract.id)
        tis.set_scheduled(conn, [extract.id], utcnow())
        row = tis.get_ti(conn, extract.id)
        from sqlalchemy import select

        from leoflow.store.tables import task_instance_history

        history = conn.execute(select(task_instance_history.c.try_number, task_instance_history.c.state)).all()
    assert (row.state, row.try_number) == ("scheduled", 2)
    assert [(h.try_number, h.state) for h in history] == [(1, "up_for_retry")]


def test_utc_datetimes_come_back_aware(engine):
    from leoflow.store.types import UtcDateTime

    naive = dt.datetime(2026, 1, 5)
    with pytest.raises(Exception):
        UtcDateTime().process_bind_param(naive, engine.dialect)
