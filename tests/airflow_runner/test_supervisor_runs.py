"""Whole runs with `LEOFLOW_TASK_RUNNER=airflow`: Leoflow schedules, Airflow 3.2.1's own supervisor and
task runner run every task against Leoflow's `/execution` (`leoflow.dagtest.test_dag`, and a real
`leoflow lite` for what needs the REST API)."""

from __future__ import annotations

import datetime as dt
import json
import textwrap
import time

import pytest
from sqlalchemy import create_engine, select

from leoflow.dagtest import test_dag as run_dag
from leoflow.store.tables import variable, xcom
from tests.e2e.lite_process import Lite

DAY = dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def forkserver():
    from leoflow.executors.forkserver import ForkServer

    server = ForkServer.start()
    yield server
    server.stop()


@pytest.fixture
def airflow_runner(monkeypatch, airflow_python):
    monkeypatch.setenv("LEOFLOW_TASK_RUNNER", "airflow")
    monkeypatch.setenv("LEOFLOW_AIRFLOW_PYTHON", airflow_python)
    monkeypatch.setenv("AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL", "1")  # see test_example_outcomes.py


def run(tmp_path, forkserver, dag_id, source, logical_date=DAY, home=None, timeout=120):
    folder = tmp_path / "dags"
    folder.mkdir(exist_ok=True)
    (folder / f"{dag_id}.py").write_text(textwrap.dedent(source))
    home = home or tmp_path / "home"
    result = run_dag(dag_id, folder, logical_date, timeout=timeout, forkserver=forkserver, keep_home=home)
    assert result.import_error is None, result.import_error
    return result, create_engine(f"sqlite:///{home / 'leoflow.db'}"), home


def states(result):
    return {(t["task_id"], t["map_index"]): (t["state"], t["try_number"]) for t in result.tasks}


def log_records(home, dag_id, task_id, attempt=1):
    (path,) = (home / "logs").glob(f"dag_id={dag_id}/run_id=*/task_id={task_id}/attempt={attempt}.log")
    return [json.loads(line) for line in path.read_text().splitlines()]


EVERYTHING = """
    import datetime as dt, os, time
    from airflow.sdk import DAG, Asset, Variable, task
    from airflow.providers.standard.operators.bash import BashOperator

    orders = Asset("af_orders", uri="s3://bucket/af_orders")
    MARK = os.path.join(os.path.dirname(__file__), "failed_once")

    with DAG(dag_id="everything", schedule=None, default_args={"retry_delay": dt.timedelta(seconds=0)}):
        @task
        def set_vars():
            Variable.set("color", "blue")
            Variable.set("gone", "soon")

        templated = BashOperator(task_id="templated", bash_command="test '{{ var.value.color }}' = blue")

        @task
        def read_vars():
            assert Variable.get("color") == "blue"
            Variable.delete("gone")
            assert Variable.get("gone", default="deleted") == "deleted"

        @task
        def double(x):
            return 2 * x

        @task
        def total(values):
            assert sum(values) == 12, list(values)
            return sum(values)

        @task.branch
        def choose():
            return "chosen"

        @task
        def chosen():
            return "yes"

        @task
        def not_chosen():
            return "no"

        @task(outlets=[orders])
        def produce(*, outlet_events):
            outlet_events[orders].extra = {"rows": 7}

        @task(inlets=[orders])
        def consume(*, inlet_events):
            event = inlet_events[orders][-1]
            assert event.extra == {"rows": 7} and isinstance(event.timestamp, dt.datetime), event

        @task(retries=1)
        def flaky():
            if not os.path.exists(MARK):
                open(MARK, "w").close()
                raise RuntimeError("the first try fails")

        @task
        def outlives_its_token():
            time.sleep(12)  # the try's token lives 3 s here: only the reissued ones carry it on
            assert Variable.get("color") == "blue"

        set_vars() >> [templated, read_vars()]
        total(double.expand(x=[1, 2, 3]))
        choose() >> [chosen(), not_chosen()]
        produce() >> consume()
        flaky()
        outlives_its_token()
"""


def test_a_dag_runs_under_airflows_runner(tmp_path, forkserver, airflow_runner, monkeypatch):
    monkeypatch.setenv("LEOFLOW_EXECUTION_TOKEN_LIFETIME", "3")
    result, engine, home = run(tmp_path, forkserver, "everything", EVERYTHING)
    got = states(result)
    assert result.run_state == "success", got
    assert got[("not_chosen", -1)][0] == "skipped" and got[("chosen", -1)][0] == "success"
    assert got[("flaky", -1)] == ("success", 2)
    assert [got[("double", i)][0] for i in range(3)] == ["success"] * 3
    with engine.connect() as conn:
        assert {r.key for r in conn.execute(select(variable.c.key))} == {"color"}  # set, and one deleted
        totals = conn.execute(select(xcom.c.value).where(xcom.c.task_id == "total")).scalars().all()
    assert totals == [12]
    # The supervisor's own messages are in the try's log once, beside the task's lines (not twice)
    records = log_records(home, "everything", "chosen")
    events = [r["event"] for r in records]
    assert "Task finished" in events and events.count("Done. Returned value was: yes") == 1
    assert any(r.get("logger") == "supervisor" for r in records)


WAITS = """
    import datetime as dt, os
    from airflow.sdk import DAG
    from airflow.providers.standard.sensors.python import PythonSensor
    from airflow.providers.standard.sensors.time_delta import TimeDeltaSensor

    MARK = os.path.join(os.path.dirname(__file__), "poked")

    def second_poke():
        if os.path.exists(MARK):
            return True
        open(MARK, "w").close()
        return False

    with DAG(dag_id="waits", schedule=None):
        PythonSensor(task_id="rescheduled", python_callable=second_poke, mode="reschedule", poke_interval=1)
        TimeDeltaSensor(task_id="deferred", delta=dt.timedelta(seconds=1), deferrable=True)
"""


def test_reschedule_and_deferral_under_airflows_runner(tmp_path, forkserver, airflow_runner):
    from leoflow.store.tables import task_reschedule, trigger

    result, engine, _ = run(tmp_path, forkserver, "waits", WAITS)
    assert result.run_state == "success", result.tasks
    with engine.connect() as conn:
        assert len(conn.execute(select(task_reschedule)).all()) == 1  # poked twice: rescheduled once
        assert conn.execute(select(trigger)).all() == []  # the trigger fired and is gone


PRIOR = """
    from airflow.sdk import DAG, task

    with DAG(dag_id="prior", schedule=None):
        @task
        def push_and_pull(ti=None, dag_run=None):
            earlier = ti.xcom_pull(task_ids="push_and_pull", key="n", include_prior_dates=True)
            ti.xcom_push(key="n", value=dag_run.conf.get("n", 1))
            return earlier

        push_and_pull()
"""


def test_xcom_pull_with_include_prior_dates_under_airflows_runner(tmp_path, forkserver, airflow_runner):
    first, engine, home = run(tmp_path, forkserver, "prior", PRIOR)
    second, _, _ = run(tmp_path, forkserver, "prior", PRIOR, logical_date=DAY + dt.timedelta(days=1), home=home)
    assert first.run_state == second.run_state == "success"
    with engine.connect() as conn:
        rows = conn.execute(select(xcom.c.run_id, xcom.c.value).where(xcom.c.key == "return_value")).all()
    by_run = {r.run_id: r.value for r in rows}
    assert by_run.get(second.run_id) == 1, by_run  # the first run's value, seen from the second


SLEEPER = """
    from airflow.sdk import DAG
    from airflow.providers.standard.operators.bash import BashOperator

    with DAG(dag_id="sleeper", schedule=None):
        BashOperator(task_id="sleep", bash_command="sleep 120")
"""


def test_a_try_failed_from_the_rest_api_is_ended_by_airflows_supervisor(tmp_path, airflow_python):
    """The supervisor's next heartbeat gets 409; it ends the task, and the try stays failed."""
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "sleeper.py").write_text(textwrap.dedent(SLEEPER))
    (tmp_path / "home").mkdir()
    lite = Lite(tmp_path / "home", dags, env={"LEOFLOW_TASK_RUNNER": "airflow",
                                             "LEOFLOW_AIRFLOW_PYTHON": airflow_python}).start(timeout=60)
    try:
        lite.wait_for_dag("sleeper")
        lite.api("PATCH", "/api/v2/dags/sleeper", json={"is_paused": False})
        run_id = lite.trigger("sleeper")["dag_run_id"]
        ti_path = f"/api/v2/dags/sleeper/dagRuns/{run_id}/taskInstances/sleep"
        lite.wait_for(lambda: lite.api("GET", ti_path).json().get("state") == "running", timeout=60)
        marked = lite.api("PATCH", ti_path, json={"new_state": "failed"})
        assert marked.status_code == 200, marked.text
        started = time.monotonic()
        log_path = next((tmp_path / "home" / "logs").glob("dag_id=sleeper/run_id=*/task_id=sleep/attempt=1.log"))

        def ended_by_the_supervisor():
            text = log_path.read_text()
            return "Server indicated the task shouldn't be running anymore" in text and "Task finished" in text

        lite.wait_for(ended_by_the_supervisor, timeout=40)
        assert time.monotonic() - started < 40
        assert lite.api("GET", ti_path).json()["state"] == "failed"
    finally:
        lite.stop()


def test_a_wrong_interpreter_stops_lites_start(tmp_path):
    """Leoflow's own Python has no Airflow: lite stops at start and says so."""
    import sys

    (tmp_path / "home").mkdir()
    (tmp_path / "dags").mkdir()
    lite = Lite(tmp_path / "home", tmp_path / "dags", env={"LEOFLOW_TASK_RUNNER": "airflow",
                                                          "LEOFLOW_AIRFLOW_PYTHON": sys.executable})
    with pytest.raises(RuntimeError) as exited:
        lite.start(timeout=60)
    assert "holds no Airflow 3.2" in str(exited.value)
    lite.stop()


def test_the_interpreter_check_names_what_is_wrong(tmp_path, airflow_python):
    from leoflow.runner.airflow_runner import AirflowRunnerError, check_interpreter

    with pytest.raises(AirflowRunnerError, match="needs LEOFLOW_AIRFLOW_PYTHON"):
        check_interpreter("")
    with pytest.raises(AirflowRunnerError, match="is not an executable Python interpreter"):
        check_interpreter(str(tmp_path / "nope"))
    assert check_interpreter(airflow_python) == "3.2.1"


ORPHAN = """
    import os
    from airflow.sdk import DAG
    from airflow.providers.standard.operators.bash import BashOperator

    with DAG(dag_id="orphan", schedule=None):
        BashOperator(task_id="sleep", bash_command=f"echo $$ > {os.path.dirname(__file__)}/bash.pid; sleep 120")
"""


def test_kill_9_of_lite_ends_airflows_supervisors_and_their_tasks(tmp_path, airflow_python):
    import os

    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "orphan.py").write_text(textwrap.dedent(ORPHAN))
    (tmp_path / "home").mkdir()
    lite = Lite(tmp_path / "home", dags, env={"LEOFLOW_TASK_RUNNER": "airflow",
                                             "LEOFLOW_AIRFLOW_PYTHON": airflow_python}).start(timeout=60)
    marker = dags / "bash.pid"
    try:
        lite.wait_for_dag("orphan")
        lite.api("PATCH", "/api/v2/dags/orphan", json={"is_paused": False})
        lite.trigger("orphan")
        lite.wait_for(lambda: marker.exists() and marker.read_text().strip(), timeout=60)
        bash_pid = int(marker.read_text())
        lite.kill9()
    finally:
        lite.stop()

    def gone():
        try:
            os.kill(bash_pid, 0)
        except ProcessLookupError:
            return True
        return False

    lite.wait_for(gone, timeout=15)
