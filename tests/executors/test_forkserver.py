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


def exit_codes(events, job_ids, timeout=5.0) -> dict:
    """The exit codes of `job_ids`, in whatever order they end."""
    codes: dict = {}
    deadline = time.monotonic() + timeout
    while len(codes) < len(job_ids) and time.monotonic() < deadline:
        try:
            event = events.get(timeout=max(deadline - time.monotonic(), 0.01))
        except queue.Empty:
            break
        if event["event"] == "exited" and event["id"] in job_ids:
            codes[event["id"]] = event["code"]
    return codes


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



def test_a_kill_right_after_start_is_never_lost(server, tmp_path):
    """The job's process group exists as soon as "started" is sent: the fork server sets it for the
    child too, so a kill that comes before the child runs still reaches it (1 in 5 were lost)."""
    fs, events = server
    (tmp_path / "hang.py").write_text("# airflow dag\nimport time\ntime.sleep(60)\n")
    for n in range(20):
        fs.submit(f"hung{n}", "parse", {"path": str(tmp_path / "hang.py"), "out": str(tmp_path / "o.json")})
        next_event(events, "started", f"hung{n}")
        fs.kill(f"hung{n}")
        assert next_event(events, "exited", f"hung{n}", timeout=10)["code"] == -9


MARKED = '''import os
with open(os.path.join(os.path.dirname(__file__), "imports.log"), "a") as f:
    f.write("{version}\\n")
from airflow.sdk import DAG
from airflow.providers.standard.operators.empty import EmptyOperator

with DAG(dag_id="marked", schedule=None):
    EmptyOperator(task_id="t")
'''


def _task_job(tmp_path, n, api_url="http://127.0.0.1:9/execution/"):
    workload = {"token": "x", "dag_rel_path": "marked.py", "bundle_info": {"name": "dags-folder", "version": None},
                "log_path": f"{n}.log", "type": "ExecuteTask",
                "ti": {"id": f"ti{n}", "dag_id": "marked", "run_id": "r", "task_id": "t", "map_index": -1,
                       "try_number": 1}}
    return {"workload": workload, "fileloc": str(tmp_path / "marked.py"), "api_url": api_url,
            "heartbeat_interval": 5, "logs_folder": str(tmp_path / "logs")}


@pytest.fixture
def refusing_api():
    """An Execution API that refuses every try (409): the task ends at once with code 1."""
    import http.server
    import threading

    class Refuse(http.server.BaseHTTPRequestHandler):
        def do_PATCH(self):
            self.send_response(409)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Refuse)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/execution/"
    httpd.shutdown()


def test_task_jobs_of_one_dag_file_fork_from_one_import_until_it_changes(server, tmp_path, refusing_api):
    import os

    fs, events = server
    path = tmp_path / "marked.py"
    path.write_text(MARKED.format(version=1))
    for n in range(3):
        fs.submit(f"job{n}", "task", _task_job(tmp_path, n, refusing_api))
        started = next_event(events, "started", f"job{n}")
        assert started["pid"] != fs.pid
        assert next_event(events, "exited", f"job{n}")["code"] == 1  # the server refused the try
    assert (tmp_path / "imports.log").read_text().split() == ["1"]  # the template's one import
    path.write_text(MARKED.format(version=2) + "\n# longer: a new size\n")
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))
    fs.submit("job9", "task", _task_job(tmp_path, 9, refusing_api))
    assert next_event(events, "exited", "job9")["code"] == 1
    assert (tmp_path / "imports.log").read_text().split() == ["1", "2"]


def test_a_task_forked_from_a_template_can_be_killed(server, tmp_path):
    import socket

    fs, events = server
    (tmp_path / "marked.py").write_text(MARKED.format(version=1))
    silent = socket.socket()  # accepts connections (backlog) and never answers: the task hangs
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/execution/"
        fs.submit("hung", "task", _task_job(tmp_path, 0, api_url=url))
        next_event(events, "started", "hung")
        time.sleep(0.2)
        fs.kill("hung")
        assert next_event(events, "exited", "hung", timeout=10)["code"] == -9
    finally:
        silent.close()


def test_a_kill_right_after_the_submit_is_never_lost(server, tmp_path):
    """The kill reaches a job that has not yet made its own session (it was lost when only its
    process group was signalled, and the job then ran to its end)."""
    fs, events = server
    (tmp_path / "hang.py").write_text("# airflow dag\nimport time\ntime.sleep(60)\n")
    jobs = [f"hung{n}" for n in range(8)]
    for job in jobs:  # each kill follows its run in the same read: sent before the child can run at all
        fs.submit(job, "parse", {"path": str(tmp_path / "hang.py"), "out": str(tmp_path / f"{job}.json")})
        fs.kill(job)
    assert exit_codes(events, jobs) == {job: -9 for job in jobs}


def test_a_kill_right_after_the_submit_reaches_a_task_forked_from_a_template(server, tmp_path):
    import socket

    fs, events = server
    (tmp_path / "marked.py").write_text(MARKED.format(version=1))
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(64)
    try:
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/execution/"
        fs.submit("warm", "task", _task_job(tmp_path, 99, api_url=url))  # the template exists from now on
        next_event(events, "started", "warm")
        jobs = [f"hung{n}" for n in range(6)]
        for n, job in enumerate(jobs):
            fs.submit(job, "task", _task_job(tmp_path, n, api_url=url))
            fs.kill(job)
        assert exit_codes(events, jobs) == {job: -9 for job in jobs}
        fs.kill("warm")
    finally:
        silent.close()
