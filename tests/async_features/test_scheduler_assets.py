"""The DAG processor records assets; the scheduler turns queued asset updates and timetables into runs."""

from __future__ import annotations

import datetime as dt
import textwrap

import pytest
from sqlalchemy import select

from leoflow import config
from leoflow.dagproc.processor import DagProcessor, inprocess_parser
from leoflow.scheduler.loop import Scheduler
from leoflow.services import open_services
from leoflow.store import assets as asset_store, dags, runs
from leoflow.store.tables import (dag, dag_run, dag_schedule_asset_alias_reference, dag_schedule_asset_reference,
                                  task_outlet_asset_reference)
from leoflow.store.types import utcnow


class IdleExecutor:
    """Runs nothing: these tests look at run creation, not at tasks."""

    name = "IdleExecutor"
    on_event = None

    def free_slots(self):
        return 0

    def drain_exits(self):
        return []


@pytest.fixture
def env(tmp_path, database_url):
    folder = tmp_path / "dags"
    folder.mkdir()
    services = open_services(config.load(home=tmp_path / "home", dags_folder=folder, database_url=database_url))
    processor = DagProcessor(services, inprocess_parser, paused_by_default=False)
    scheduler = Scheduler(services, IdleExecutor(), token_secret="x")
    yield folder, services, processor, scheduler
    scheduler.triggerer.stop()
    services.engine.dispose()


def write(folder, name, body):
    path = folder / name
    path.write_text(textwrap.dedent(body))
    return str(path)


ASSET_DAGS = """
    import datetime as dt
    from airflow.sdk import DAG, Asset, AssetAlias, task

    a, b = Asset("s3://bucket/a"), Asset("s3://bucket/b")
    with DAG("produce_a", schedule=None, start_date=dt.datetime(2026, 1, 1)):
        @task(outlets=[a])
        def make_a():
            pass
        make_a()
    with DAG("needs_both", schedule=[a, b], start_date=dt.datetime(2026, 1, 1)):
        @task(inlets=[a, b])
        def use():
            pass
        use()
    with DAG("needs_either", schedule=(a | b), start_date=dt.datetime(2026, 1, 1)):
        @task
        def either():
            pass
        either()
    with DAG("on_alias", schedule=AssetAlias("fresh"), start_date=dt.datetime(2026, 1, 1)):
        @task
        def aliased():
            pass
        aliased()
"""


def asset_id(services, uri):
    with services.engine.connect() as conn:
        return asset_store.active_asset(conn, uri=uri).id


def emit(services, uri, dag_id="produce_a", alias=None):
    target = asset_id(services, uri)
    with services.engine.begin() as conn:
        asset_store.record_event(conn, target, source={"dag_id": dag_id, "task_id": "t",
                                                                        "run_id": "r", "map_index": -1},
                                 alias_names=[alias] if alias else [])


def created(services, dag_id):
    with services.engine.connect() as conn:
        return conn.execute(select(dag_run.c.run_id, dag_run.c.run_type, dag_run.c.state)
                            .where(dag_run.c.dag_id == dag_id)).all()


def test_parse_records_asset_references(env):
    folder, services, processor, _ = env
    processor.process_file(write(folder, "assets.py", ASSET_DAGS))
    with services.engine.connect() as conn:
        scheduled = conn.execute(select(dag_schedule_asset_reference.c.dag_id).distinct()).scalars().all()
        assert sorted(scheduled) == ["needs_both", "needs_either"]
        assert conn.execute(select(dag_schedule_asset_alias_reference.c.dag_id)).scalars().all() == ["on_alias"]
        assert conn.execute(select(task_outlet_asset_reference.c.task_id)).scalars().all() == ["make_a"]
        expr = conn.execute(select(dag.c.asset_expression).where(dag.c.dag_id == "needs_both")).scalar()
        assert [leaf["asset"]["uri"] for leaf in expr["all"]] == ["s3://bucket/a", "s3://bucket/b"]


def test_asset_updates_trigger_runs_when_the_condition_holds(env):
    folder, services, processor, scheduler = env
    processor.process_file(write(folder, "assets.py", ASSET_DAGS))
    emit(services, "s3://bucket/a")
    scheduler.tick()
    assert created(services, "needs_both") == []
    (either,) = created(services, "needs_either")
    assert either.run_type == "asset_triggered" and either.state == "running"  # created and started
    emit(services, "s3://bucket/b")
    scheduler.tick()
    (both,) = created(services, "needs_both")
    with services.engine.connect() as conn:
        run = runs.get_run(conn, "needs_both", both.run_id)
        assert sorted(e.uri for e in asset_store.consumed_events(conn, run.id)) == ["s3://bucket/a", "s3://bucket/b"]
    assert len(created(services, "needs_either")) == 2  # b alone satisfies a | b again


def test_alias_scheduled_dag_runs_on_an_alias_event(env):
    folder, services, processor, scheduler = env
    processor.process_file(write(folder, "assets.py", ASSET_DAGS))
    emit(services, "s3://bucket/a", alias="fresh")
    scheduler.tick()
    assert len(created(services, "on_alias")) == 1


def test_interval_and_continuous_schedules(env):
    folder, services, processor, scheduler = env
    processor.process_file(write(folder, "timed.py", """
        import datetime as dt
        from airflow.sdk import DAG
        from airflow.timetables.interval import DeltaDataIntervalTimetable
        from airflow.providers.standard.operators.empty import EmptyOperator

        with DAG("daily_interval", schedule=DeltaDataIntervalTimetable(dt.timedelta(days=1)),
                 start_date=dt.datetime(2026, 1, 1), catchup=False):
            EmptyOperator(task_id="t")
        with DAG("forever", schedule="@continuous", start_date=dt.datetime(2026, 1, 1), max_active_runs=1):
            EmptyOperator(task_id="t")
    """))
    scheduler.tick()
    (interval_run,) = created(services, "daily_interval")
    with services.engine.connect() as conn:
        run = runs.get_run(conn, "daily_interval", interval_run.run_id)
    assert run.data_interval_end - run.data_interval_start == dt.timedelta(days=1)
    assert run.data_interval_end <= utcnow() and run.logical_date == run.data_interval_start
    scheduler.tick()
    scheduler.tick()
    assert len(created(services, "forever")) == 1  # the next only when this one ends
    with services.engine.begin() as conn:
        (only,) = runs.unfinished_runs(conn, "forever")
        runs.set_run_state(conn, "forever", only.run_id, "success")
    scheduler.tick()
    assert len(created(services, "forever")) == 2


def test_dagrun_timeout_through_the_scheduler(env):
    folder, services, processor, scheduler = env
    processor.process_file(write(folder, "slow.py", """
        import datetime as dt
        from airflow.sdk import DAG
        from airflow.providers.standard.operators.empty import EmptyOperator

        with DAG("slow", schedule=None, start_date=dt.datetime(2026, 1, 1), dagrun_timeout=dt.timedelta(seconds=30)):
            EmptyOperator(task_id="t")
    """))
    with services.engine.begin() as conn:
        version_id, data = dags.latest_serialized(conn, "slow")
        run = runs.create_dag_run(conn, data, dag_version_id=version_id, run_type="manual", run_after=utcnow(),
                                  run_id="r")
    now = utcnow()
    assert scheduler.evaluate_run("slow", "r", now) == "running"
    assert ("slow", "r") in scheduler._wakeups  # woken up at the deadline
    assert scheduler.evaluate_run("slow", "r", now + dt.timedelta(seconds=31)) == "failed"
    with services.engine.connect() as conn:
        assert runs.get_run(conn, "slow", "r").state == "failed"
