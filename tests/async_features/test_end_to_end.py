"""Whole runs through `leoflow.dagtest.test_dag` (fork server, Execution API, scheduler, triggerer)
of small DAG files written here: deferral, reschedule, sensor timeouts, outlets, DAG callbacks."""

from __future__ import annotations

import datetime as dt
import textwrap
import time

import pytest
from sqlalchemy import create_engine, select

from leoflow.dagtest import test_dag as run_dag
from leoflow.store.tables import asset_event, log as audit_log, task_reschedule, trigger

DAY = dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def forkserver():
    from leoflow.executors.forkserver import ForkServer

    server = ForkServer.start()
    yield server
    server.stop()


def write(folder, name, body):
    (folder / name).write_text(textwrap.dedent(body))


def run(tmp_path, forkserver, dag_id, source):
    folder = tmp_path / "dags"
    folder.mkdir(exist_ok=True)
    write(folder, f"{dag_id}.py", source)
    home = tmp_path / "home"
    result = run_dag(dag_id, folder, DAY, timeout=60, forkserver=forkserver, keep_home=home)
    assert result.import_error is None, result.import_error
    engine = create_engine(f"sqlite:///{home / 'leoflow.db'}")
    return result, engine


def states(result):
    return {t["task_id"]: (t["state"], t["try_number"]) for t in result.tasks}


def events(engine, kind):
    with engine.connect() as conn:
        return [r.task_id for r in conn.execute(select(audit_log.c.task_id).where(audit_log.c.event == kind))]


def test_a_deferrable_sensor_waits_in_the_triggerer_and_resumes(tmp_path, forkserver):
    result, engine = run(tmp_path, forkserver, "deferring", """
        import datetime as dt
        from airflow.sdk import DAG
        from airflow.providers.standard.sensors.time_delta import TimeDeltaSensorAsync
        from airflow.providers.standard.operators.empty import EmptyOperator

        with DAG("deferring", schedule=None, start_date=dt.datetime(2026, 1, 1)):
            # The run's logical date is in the past: wait relative to "now" through a custom target.
            class Soon(TimeDeltaSensorAsync):
                def _target(self, context):
                    from airflow.sdk import timezone
                    return timezone.utcnow() + dt.timedelta(seconds=0.5)
            Soon(task_id="wait", delta=dt.timedelta(0)) >> EmptyOperator(task_id="finish")
    """)
    assert result.run_state == "success"
    assert states(result) == {"wait": ("success", 1), "finish": ("success", 1)}
    assert events(engine, "deferred") == ["wait"]
    with engine.connect() as conn:
        assert conn.execute(select(trigger)).all() == []  # cleaned up once fired


def test_a_reschedule_sensor_frees_its_slot_between_pokes(tmp_path, forkserver):
    marker = tmp_path / "pokes"
    result, engine = run(tmp_path, forkserver, "rescheduling", f"""
        import datetime as dt
        from pathlib import Path
        from airflow.sdk import DAG
        from airflow.providers.standard.sensors.python import PythonSensor

        def third_time_lucky():
            path = Path({str(marker)!r})
            n = int(path.read_text()) + 1 if path.exists() else 1
            path.write_text(str(n))
            return n >= 3

        with DAG("rescheduling", schedule=None, start_date=dt.datetime(2026, 1, 1)):
            PythonSensor(task_id="sense", python_callable=third_time_lucky, mode="reschedule",
                         poke_interval=0.2, timeout=60)
    """)
    assert result.run_state == "success"
    assert states(result) == {"sense": ("success", 1)}  # one try, three pokes
    assert marker.read_text() == "3"
    assert events(engine, "up_for_reschedule") == ["sense", "sense"]
    with engine.connect() as conn:
        assert len(conn.execute(select(task_reschedule)).all()) == 2


def test_a_reschedule_sensor_times_out_across_pokes_and_soft_fails(tmp_path, forkserver):
    result, engine = run(tmp_path, forkserver, "timing_out", """
        import datetime as dt
        from airflow.sdk import DAG
        from airflow.providers.standard.sensors.python import PythonSensor

        with DAG("timing_out", schedule=None, start_date=dt.datetime(2026, 1, 1)):
            PythonSensor(task_id="never", python_callable=lambda: False, mode="reschedule",
                         poke_interval=0.2, timeout=1, soft_fail=True)
    """)
    assert states(result) == {"never": ("skipped", 1)}
    assert len(events(engine, "up_for_reschedule")) >= 2  # the timeout spans several pokes


def test_outlets_become_asset_events(tmp_path, forkserver):
    result, engine = run(tmp_path, forkserver, "producing", """
        import datetime as dt
        from airflow.sdk import DAG, Asset, task

        with DAG("producing", schedule=None, start_date=dt.datetime(2026, 1, 1)):
            @task(outlets=[Asset("s3://bucket/data.csv")])
            def write():
                return 1
            write()
    """)
    assert result.run_state == "success"
    with engine.connect() as conn:
        rows = conn.execute(select(asset_event.c.source_dag_id, asset_event.c.source_task_id)).all()
    assert rows == [("producing", "write")]


def test_dag_callbacks_run_in_a_child_with_the_reason(tmp_path, forkserver):
    out = tmp_path / "callback.txt"
    result, _ = run(tmp_path, forkserver, "calling_back", f"""
        import datetime as dt
        from airflow.sdk import DAG
        from airflow.providers.standard.operators.bash import BashOperator

        def on_failure(context):
            with open({str(out)!r}, "w") as f:
                f.write(context["reason"] + " " + context["dag_run"].run_id)

        with DAG("calling_back", schedule=None, start_date=dt.datetime(2026, 1, 1),
                 on_failure_callback=on_failure):
            BashOperator(task_id="boom", bash_command="exit 1")
    """)
    assert result.run_state == "failed"
    deadline = time.monotonic() + 10
    while not out.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert out.read_text() == f"task_failure {result.run_id}"


def test_dagrun_timeout_fails_the_run(tmp_path, forkserver):
    result, _ = run(tmp_path, forkserver, "too_slow", """
        import datetime as dt
        from airflow.sdk import DAG
        from airflow.providers.standard.operators.bash import BashOperator

        with DAG("too_slow", schedule=None, start_date=dt.datetime(2026, 1, 1),
                 dagrun_timeout=dt.timedelta(seconds=1)):
            BashOperator(task_id="sleep", bash_command="sleep 30") >> BashOperator(task_id="after", bash_command="true")
    """)
    assert result.run_state == "failed"
    assert states(result)["after"][0] == "skipped"


def test_trigger_dag_run_waits_for_the_target_run(tmp_path, forkserver):
    result, engine = run(tmp_path, forkserver, "controller", """
        import datetime as dt
        from airflow.sdk import DAG
        from airflow.providers.standard.operators.bash import BashOperator
        from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator

        with DAG("controller", schedule=None, start_date=dt.datetime(2026, 1, 1)):
            TriggerDagRunOperator(task_id="trigger", trigger_dag_id="target", trigger_run_id="from_controller",
                                  conf={"n": 7}, wait_for_completion=True, poke_interval=0.2)
        with DAG("target", schedule=None, start_date=dt.datetime(2026, 1, 1)):
            BashOperator(task_id="echo", bash_command="test {{ dag_run.conf['n'] }} = 7")
    """)
    assert result.run_state == "success", result.tasks
    with engine.connect() as conn:
        from leoflow.store.tables import dag_run

        target = conn.execute(select(dag_run.c.state, dag_run.c.triggered_by).where(
            dag_run.c.dag_id == "target")).one()
    assert tuple(target) == ("success", "operator")


def test_external_task_sensor_counts_through_the_execution_api(tmp_path, forkserver):
    result, _ = run(tmp_path, forkserver, "watching", """
        import datetime as dt
        from airflow.sdk import DAG
        from airflow.providers.standard.operators.empty import EmptyOperator
        from airflow.providers.standard.sensors.external_task import ExternalTaskSensor

        with DAG("watching", schedule=None, start_date=dt.datetime(2026, 1, 1)):
            first = EmptyOperator(task_id="first")
            seen = ExternalTaskSensor(task_id="seen", external_dag_id="watching", external_task_id="first",
                                      poke_interval=0.2, timeout=30)
            missing = ExternalTaskSensor(task_id="missing", external_dag_id="watching", external_task_id="nope",
                                         mode="reschedule", poke_interval=0.2, timeout=1, soft_fail=True)
            first >> [seen, missing]
    """)
    assert states(result) == {"first": ("success", 1), "seen": ("success", 1), "missing": ("skipped", 1)}
