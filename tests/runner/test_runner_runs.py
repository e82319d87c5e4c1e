"""Whole runs of small DAG files through Leoflow's runner (`leoflow.dagtest.test_dag`: fork server,
Execution API, scheduler): what a task reads and writes through the Execution API arrives."""

from __future__ import annotations

import datetime as dt
import textwrap

import pytest
from sqlalchemy import create_engine, select

from leoflow.dagtest import test_dag as run_dag
from leoflow.store.tables import variable

DAY = dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def forkserver():
    from leoflow.executors.forkserver import ForkServer

    server = ForkServer.start()
    yield server
    server.stop()


def run(tmp_path, forkserver, dag_id, source, logical_date=DAY):
    folder = tmp_path / "dags"
    folder.mkdir(exist_ok=True)
    (folder / f"{dag_id}.py").write_text(textwrap.dedent(source))
    home = tmp_path / "home"
    result = run_dag(dag_id, folder, logical_date, timeout=60, forkserver=forkserver, keep_home=home)
    assert result.import_error is None, result.import_error
    return result, create_engine(f"sqlite:///{home / 'leoflow.db'}")


def states(result):
    return {(t["task_id"], t["map_index"]): t["state"] for t in result.tasks}


def test_variable_set_in_a_task_is_stored_and_read_back(tmp_path, forkserver):
    result, engine = run(tmp_path, forkserver, "sets_a_variable", """
        from airflow.sdk import DAG, Variable, task

        with DAG(dag_id="sets_a_variable", schedule=None):
            @task
            def write():
                Variable.set("color", "blue", description="set by a task")

            @task
            def read():
                assert Variable.get("color") == "blue"
                Variable.delete("color")

            write() >> read()
        """)
    assert result.run_state == "success", result.tasks
    with engine.connect() as conn:
        assert conn.execute(select(variable.c.key)).all() == []  # written, read back, then deleted


def test_a_task_sums_a_mapped_upstream(tmp_path, forkserver):
    result, engine = run(tmp_path, forkserver, "sums_mapped", """
        from airflow.sdk import DAG, task

        with DAG(dag_id="sums_mapped", schedule=None):
            @task
            def double(x):
                return 2 * x

            @task
            def total(values):
                assert sum(values) == 12, list(values)
                return sum(values)

            total(double.expand(x=[1, 2, 3]))
        """)
    assert result.run_state == "success", result.tasks
    assert states(result)[("total", -1)] == "success"


def test_a_try_outlives_its_first_token(tmp_path, forkserver, monkeypatch):
    """The execution token lives 2 s here (and 5 s of leeway): the heartbeats' reissued tokens carry the
    try to its final report 9 s later."""
    monkeypatch.setenv("LEOFLOW_EXECUTION_TOKEN_LIFETIME", "2")
    monkeypatch.setenv("LEOFLOW_TASK_HEARTBEAT_INTERVAL", "1")
    result, _ = run(tmp_path, forkserver, "long_task", """
        import time
        from airflow.sdk import DAG, Variable, task

        with DAG(dag_id="long_task", schedule=None):
            @task
            def slow():
                time.sleep(9)
                Variable.set("after", "sleeping")
                return "done"

            slow()
        """)
    assert result.run_state == "success", result.tasks


def test_return_values_arrive_with_the_state_and_a_callback_reads_its_own(tmp_path, forkserver):
    """The runner sends a try's return value with its final state; a callback that pulls it first gets it
    (sent at once), a big one is pushed on its own, and the downstream task reads all of them."""
    result, engine = run(tmp_path, forkserver, "returns", """
        from airflow.sdk import DAG, task

        def check_own(context):
            assert context["ti"].xcom_pull(task_ids="small_with_callback") == {"n": 1}

        with DAG(dag_id="returns", schedule=None):
            @task(on_success_callback=check_own)
            def small_with_callback():
                return {"n": 1}

            @task
            def big():
                return "x" * 100_000

            @task
            def none():
                return None

            @task
            def read(a, b, c):
                assert a == {"n": 1} and len(b) == 100_000 and c is None, (a, len(b), c)

            read(small_with_callback(), big(), none())
        """)
    assert result.run_state == "success", result.tasks
    from leoflow.store.tables import xcom

    with engine.connect() as conn:
        keys = {(r.task_id, r.key) for r in conn.execute(select(xcom.c.task_id, xcom.c.key))}
    assert {("small_with_callback", "return_value"), ("big", "return_value")} <= keys, keys
    assert ("none", "return_value") not in keys  # None is not pushed, as in Airflow


class _RecordingClient:
    def __init__(self):
        self.requests = []

    def request(self, method, path, body=None, params=None):
        self.requests.append((method, path, body))
        return {"value": body}


def test_the_own_return_value_waits_for_the_report_unless_read_first():
    from leoflow.runner.run import HttpComms

    client = _RecordingClient()
    comms = HttpComms(client, own=("d", "r", "t", -1))
    comms.set_xcom("d", "r", "t", "return_value", [1, 2])
    comms.set_xcom("d", "r", "t", "other", 3)  # any other key goes at once
    assert [p for _, p, _ in client.requests] == ["xcoms/d/r/t/other"]
    assert comms.take_return_value() == [[1, 2]] and comms.take_return_value() == []

    comms.set_xcom("d", "r", "t", "return_value", "v")
    comms.get_xcom("d", "r", "t", "return_value")  # the try reads what it wrote: sent first
    assert client.requests[-2:] == [("POST", "xcoms/d/r/t/return_value", "v"),
                                    ("GET", "xcoms/d/r/t/return_value", None)]
    assert comms.take_return_value() == []
    comms.set_xcom("d", "r", "t", "return_value", [1], mapped_length=1)  # a mapped upstream: at once
    assert client.requests[-1][:2] == ("POST", "xcoms/d/r/t/return_value")
