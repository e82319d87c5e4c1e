"""The fork server runs jobs in children and reports each exit as soon as it happens."""

import json
import queue
import time

import pytest

from leoflow.executors.forkserver import ForkServer

DAG = '''from airflow.sdk import dag, task


@dag(dag_id="tiny", schedule=None)
def tiny():
    @task
    def one():
        return 1

    one()


tiny()
'''


@pytest.fixture
def server():
    fs = ForkServer.start()
    events: queue.Queue = queue.Queue()
    fs.add_listener(events.put)
    yield fs, events
    fs.stop()


def next_event(events, kind, job_id, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        event = events.get(timeout=max(deadline - time.monotonic(), 0.01))
        if event["event"] == kind and event["id"] == job_id:
            return event
    raise AssertionError(f"no {kind} event for {job_id}")


def test_jobs_run_in_children_and_each_exit_is_reported(server, tmp_path):
    fs, events = server
    (tmp_path / "tiny.py").write_text(DAG)
    for n in range(3):  # one after another: each exit must arrive without waiting for the next job
        out = tmp_path / f"out{n}.json"
        fs.submit(f"job{n}", "parse", {"path": str(tmp_path / "tiny.py"), "out": str(out)})
        started = next_event(events, "started", f"job{n}")
        exited = next_event(events, "exited", f"job{n}")
        assert exited["code"] == 0 and started["pid"] != fs.pid
        assert [d["dag_id"] for d in json.loads(out.read_text())["dags"]] == ["tiny"]


def test_a_killed_job_is_reported_with_its_signal(server, tmp_path):
    fs, events = server
    # A DAG file that never finishes parsing stands in for a hung task.
    (tmp_path / "hang.py").write_text("# airflow dag\nimport time\ntime.sleep(60)\n")
    fs.submit("hung", "parse", {"path": str(tmp_path / "hang.py"), "out": str(tmp_path / "o.json")})
    next_event(events, "started", "hung")
    fs.kill("hung")
    assert next_event(events, "exited", "hung", timeout=10)["code"] == -9
