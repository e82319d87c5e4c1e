"""`leoflow lite` as a user meets it: trigger over the REST API, read XCom and logs, survive bad files and kill -9."""

import json
import os
import time

import httpx

from .lite_process import Lite

FLAKY_DAG = '''
import os, time
from datetime import timedelta
from airflow.sdk import dag, task

@dag(dag_id="flaky", schedule=None, default_args={"retries": 1, "retry_delay": timedelta(seconds=0)})
def flaky():
    @task
    def slow_first_time():
        from airflow.sdk import get_current_context
        if get_current_context()["ti"].try_number == 1:
            open(os.environ["FLAKY_MARKER"], "w").write(str(os.getpid()))
            time.sleep(120)
        return "second try"
    slow_first_time()

flaky()
'''


def test_etl_runs_end_to_end_over_the_rest_api(lite):
    assert httpx.get(f"{lite.base}/api/v2/dags").status_code == 401
    run = lite.trigger("example_etl")
    assert run["state"] == "queued"
    done = lite.wait_for_run("example_etl", run["dag_run_id"])
    assert done["state"] == "success"

    base = f"/api/v2/dags/example_etl/dagRuns/{run['dag_run_id']}"
    tis = lite.api("GET", f"{base}/taskInstances").json()["task_instances"]
    assert {t["task_id"]: t["state"] for t in tis} == {"extract": "success", "transform": "success",
                                                        "load": "success"}
    xcom = lite.api("GET", f"{base}/taskInstances/transform/xcomEntries/return_value").json()
    assert xcom["value"] == {"rows": 200}

    log = lite.api("GET", f"{base}/taskInstances/transform/logs/1", headers={"Accept": "application/json"}).json()
    events = [e.get("event") for e in log["content"]]
    assert "transform got {'rows': 100}" in events
    assert any(str(e).startswith("Done. Returned value was") for e in events)
    raw = (lite.home / "logs" / "dag_id=example_etl" / f"run_id={run['dag_run_id']}" / "task_id=load"
           / "attempt=1.log").read_text().splitlines()
    records = [json.loads(line) for line in raw]
    assert all({"timestamp", "event", "level", "logger"} <= r.keys() for r in records)


def test_broken_dag_file_is_an_import_error_with_its_line_and_the_rest_keep_running(lite):
    (lite.dags / "broken.py").write_text("from airflow.sdk import dag\n\nthis is not python\n")
    errors = lite.wait_for(lambda: lite.api("GET", "/api/v2/importErrors").json()["import_errors"], timeout=10)
    assert errors[0]["filename"].endswith("broken.py")
    assert "line 3" in errors[0]["stack_trace"]
    run = lite.trigger("example_etl")
    assert lite.wait_for_run("example_etl", run["dag_run_id"])["state"] == "success"


def test_new_changed_and_deleted_files_are_picked_up(lite):
    source = (lite.dags / "example_etl.py").read_text().replace('"example_etl"', '"fresh_dag"')
    (lite.dags / "fresh.py").write_text(source)
    started = time.monotonic()
    lite.wait_for(lambda: lite.api("GET", "/api/v2/dags/fresh_dag").status_code == 200, timeout=10)
    assert time.monotonic() - started < 3.0  # the watcher wakes the processor; the benchmark measures it tightly
    (lite.dags / "fresh.py").unlink()
    lite.wait_for(lambda: lite.api("GET", "/api/v2/dags/fresh_dag").json().get("is_stale") is True, timeout=10)


def test_kill_9_during_a_task_then_restart_finishes_the_run(tmp_path, dags_folder):
    marker = tmp_path / "first-try.pid"
    (dags_folder / "flaky.py").write_text(FLAKY_DAG)
    home = tmp_path / "home"
    home.mkdir()
    env = {"FLAKY_MARKER": str(marker), "LEOFLOW_ZOMBIE_THRESHOLD": "5"}
    first = Lite(home, dags_folder, env=env).start()
    try:
        first.wait_for(lambda: first.api("GET", "/api/v2/dags/flaky").status_code == 200, timeout=10)
        run = first.trigger("flaky")
        # the task makes the file, then writes its pid: wait for the pid, not only the file
        first.wait_for(lambda: marker.exists() and marker.read_text().strip(), timeout=20)
        task_pid = int(marker.read_text())
        first.kill9()
    finally:
        first.stop()
    # The task dies with its parent: nothing keeps running unsupervised.
    first.wait_for(lambda: not _alive(task_pid), timeout=10)

    second = Lite(home, dags_folder, env=env)
    second.port = first.port
    second.base = first.base
    second.start()
    try:
        done = second.wait_for_run("flaky", run["dag_run_id"], timeout=40)
        assert done["state"] == "success"
        ti = second.api("GET", f"/api/v2/dags/flaky/dagRuns/{run['dag_run_id']}/taskInstances/slow_first_time").json()
        assert (ti["state"], ti["try_number"]) == ("success", 2)
        running = second.api("GET", "/api/v2/dags/~/dagRuns/~/taskInstances", params={"state": "running"})
        if running.status_code == 200:
            assert running.json()["total_entries"] == 0
    finally:
        second.stop()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie entry awaiting its reaper is not alive
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return False


HANGING_DAG = '''
import os, signal
from datetime import timedelta
from airflow.sdk import dag, task

@dag(dag_id="hangs_once", schedule=None, default_args={"retries": 1, "retry_delay": timedelta(seconds=0)})
def hangs_once():
    @task
    def freeze_first_time():
        from airflow.sdk import get_current_context
        if get_current_context()["ti"].try_number == 1:
            os.kill(os.getpid(), signal.SIGSTOP)  # the whole process, heartbeat thread included, stops
        return "thawed"
    freeze_first_time()

hangs_once()
'''


def test_a_task_that_stops_heart_beating_is_a_zombie_and_is_retried(tmp_path, dags_folder):
    (dags_folder / "hangs.py").write_text(HANGING_DAG)
    home = tmp_path / "home"
    home.mkdir()
    server = Lite(home, dags_folder, env={"LEOFLOW_ZOMBIE_THRESHOLD": "2", "LEOFLOW_TASK_HEARTBEAT_INTERVAL": "0.5"})
    server.start()
    try:
        server.wait_for(lambda: server.api("GET", "/api/v2/dags/hangs_once").status_code == 200, timeout=10)
        run = server.trigger("hangs_once")
        done = server.wait_for_run("hangs_once", run["dag_run_id"], timeout=40)
        ti = server.api("GET", f"/api/v2/dags/hangs_once/dagRuns/{run['dag_run_id']}"
                               "/taskInstances/freeze_first_time").json()
        assert (done["state"], ti["state"], ti["try_number"]) == ("success", "success", 2)
        assert "zombie" in server.output()
        # The first try's log says why it ended, in the log's own format, as its last records.
        log = (home / "logs" / "dag_id=hangs_once" / f"run_id={run['dag_run_id']}" / "task_id=freeze_first_time"
               / "attempt=1.log").read_text()
        records = [json.loads(line) for line in log.splitlines()]
        assert all({"timestamp", "event", "level", "logger"} <= r.keys() for r in records)
        assert [(r["level"], r["logger"], r["event"]) for r in records[-2:]] == [
            ("error", "leoflow.scheduler", "Task did not emit heartbeat within time limit (2 seconds) and will be "
                                           "terminated"),
            ("error", "leoflow.scheduler", "No heartbeat from its runner (zombie); marking the try up_for_retry")]
    finally:
        server.stop()


def test_a_run_of_a_paused_dag_waits_and_starts_on_unpause(lite):
    lite.wait_for_dag("example_etl")
    assert lite.api("PATCH", "/api/v2/dags/example_etl", json={"is_paused": True}).json()["is_paused"] is True
    run = lite.trigger("example_etl")
    time.sleep(1.0)
    path = f"/api/v2/dags/example_etl/dagRuns/{run['dag_run_id']}"
    assert lite.api("GET", path).json()["state"] == "queued"
    lite.api("PATCH", "/api/v2/dags/example_etl", json={"is_paused": False})
    assert lite.wait_for_run("example_etl", run["dag_run_id"], timeout=20)["state"] == "success"
