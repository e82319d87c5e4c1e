"""Faults of a real `leoflow lite` process: kill -9, a fork server that dies, SIGTERM, and what the task
logs say about each."""

import json
import os
import signal
import sqlite3
import time

import httpx

from .lite_process import Lite

# The command of the first try starts `sleep 300` and records its own pid and the sleep's; a later try
# records whether any process of the first one is still alive when it starts.
SCRIPT = '''#!/bin/bash
echo "start $AIRFLOW_CTX_TRY_NUMBER $$" >> {marks}
if [ "$AIRFLOW_CTX_TRY_NUMBER" = "1" ]; then
  sleep 300 &
  echo "$$ $!" > {first}.tmp && mv {first}.tmp {first}
  wait
else
  for pid in $(cat {first}); do
    state=$(awk '{{print $3}}' /proc/$pid/stat 2>/dev/null)
    if [ -n "$state" ] && [ "$state" != "Z" ]; then echo "overlap $pid" >> {marks}; fi
  done
fi
'''

LONG_BASH = '''
from datetime import timedelta
from airflow.sdk import DAG
from airflow.providers.standard.operators.bash import BashOperator

with DAG(dag_id="long_bash", schedule=None, default_args={{"retries": 1, "retry_delay": timedelta(seconds=0)}}):
    BashOperator(task_id="run", bash_command="bash {script} ")
'''


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def descendants(pid: int) -> set[int]:
    found, todo = set(), [pid]
    while todo:
        p = todo.pop()
        found.add(p)
        try:
            for tid in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{tid}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return found


class BashSetup:
    def __init__(self, tmp_path, dags_folder):
        self.marks, self.first = tmp_path / "marks", tmp_path / "first"
        script = tmp_path / "command.sh"
        script.write_text(SCRIPT.format(marks=self.marks, first=self.first))
        (dags_folder / "long_bash.py").write_text(LONG_BASH.format(script=script))
        self.home = tmp_path / "home"
        self.home.mkdir()
        self.dags = dags_folder

    def lite(self, **env) -> Lite:
        return Lite(self.home, self.dags, env={"LEOFLOW_ZOMBIE_THRESHOLD": "5", **env})

    def first_pids(self) -> list[int]:
        return [int(p) for p in self.first.read_text().split()]

    def log_records(self, run_id: str, try_number: int) -> list[dict]:
        path = (self.home / "logs" / "dag_id=long_bash" / f"run_id={run_id}" / "task_id=run"
                / f"attempt={try_number}.log")
        return [json.loads(line) for line in path.read_text().splitlines()]


def test_kill_9_of_lite_ends_the_bash_command_of_a_running_task(tmp_path, dags_folder):
    setup = BashSetup(tmp_path, dags_folder)
    lite = setup.lite().start()
    try:
        run = lite.trigger("long_bash")
        lite.wait_for(setup.first.exists, timeout=20)
        pids = setup.first_pids()
        assert all(alive(p) for p in pids)
        lite.kill9()
    finally:
        lite.stop()
    lite.wait_for(lambda: not any(alive(p) for p in pids), timeout=10)  # bash and its sleep
    assert run["dag_run_id"]


def test_after_every_leoflow_process_was_killed_a_restart_ends_the_old_command_before_the_retry(
        tmp_path, dags_folder):
    setup = BashSetup(tmp_path, dags_folder)
    first = setup.lite().start()
    try:
        run = first.trigger("long_bash")
        first.wait_for(setup.first.exists, timeout=20)
        pids = setup.first_pids()
        # The worst case: lite, its fork server, template and task process all stopped, then killed, at
        # once, so none of them can end the command; only the bash command and its sleep are left.
        leoflow = descendants(first.proc.pid) - set(pids)
        for sig in (signal.SIGSTOP, signal.SIGKILL):
            for pid in leoflow:
                os.kill(pid, sig)
        first.proc.wait(10)
        first.wait_for(lambda: not any(alive(p) for p in leoflow), timeout=10)
    finally:
        first.stop()
    assert all(alive(p) for p in pids)

    second = setup.lite().start()
    try:
        done = second.wait_for_run("long_bash", run["dag_run_id"], timeout=40)
        assert done["state"] == "success"
        assert not any(alive(p) for p in pids)
        marks = setup.marks.read_text().split("\n")
        assert [m.split()[1] for m in marks if m.startswith("start")] == ["1", "2"]
        assert not [m for m in marks if m.startswith("overlap")], marks  # the retry ran alone
        reasons = [r["event"] for r in setup.log_records(run["dag_run_id"], 1) if r["logger"] == "leoflow.scheduler"]
        assert reasons == ["Its process ended with the previous Leoflow process (Leoflow was restarted); "
                           "marking the try up_for_retry"]
    finally:
        second.stop()


KILLS_ITS_PARENT = '''# airflow dag: importing this file kills the process that forked its importer
import os
os.kill(os.getppid(), 9)
'''


def test_a_dag_file_that_kills_the_fork_server_costs_a_retry_and_tasks_go_on(tmp_path, dags_folder):
    setup = BashSetup(tmp_path, dags_folder)
    lite = setup.lite().start()
    try:
        run = lite.trigger("long_bash")
        lite.wait_for(setup.first.exists, timeout=20)
        pids = setup.first_pids()
        (dags_folder / "kills_its_parent.py").write_text(KILLS_ITS_PARENT)
        done = lite.wait_for_run("long_bash", run["dag_run_id"], timeout=30)
        assert done["state"] == "success"
        ti = lite.api("GET", f"/api/v2/dags/long_bash/dagRuns/{run['dag_run_id']}/taskInstances/run").json()
        assert ti["try_number"] == 2
        assert not any(alive(p) for p in pids)
        assert not [m for m in setup.marks.read_text().split("\n") if m.startswith("overlap")]
        reasons = [r["event"] for r in setup.log_records(run["dag_run_id"], 1) if r["logger"] == "leoflow.scheduler"]
        assert len(reasons) == 1 and "fork server" in reasons[0] and "ended unexpectedly" in reasons[0]
        assert reasons[0].endswith("marking the try up_for_retry")
        # Tasks queued after it run on the new fork server; health says so.
        later = lite.trigger("example_etl")
        assert lite.wait_for_run("example_etl", later["dag_run_id"], timeout=30)["state"] == "success"
        health = httpx.get(f"{lite.base}/api/v2/monitor/health").json()
        assert health["scheduler"]["status"] == "healthy" and "detail" not in health["scheduler"]
        output = lite.output()
        assert output.count("ERROR leoflow.executors.forkserver: The fork server") == 1, output
        assert "Traceback" not in output and "BrokenPipe" not in output, output
    finally:
        lite.stop()


DRAIN = '''
from datetime import timedelta
from airflow.sdk import DAG
from airflow.providers.standard.operators.bash import BashOperator

with DAG(dag_id="drain", schedule=None):
    for n in range(3):
        BashOperator(task_id=f"short{n}", bash_command="sleep 3")
    BashOperator(task_id="long", bash_command="sleep 300", retries=1, retry_delay=timedelta(minutes=5))
'''


def _start_drain_run(tmp_path, dags_folder, grace: str):
    (dags_folder / "drain.py").write_text(DRAIN)
    (tmp_path / "home").mkdir()
    lite = Lite(tmp_path / "home", dags_folder, env={"LEOFLOW_SHUTDOWN_GRACE_PERIOD": grace}).start()
    run = lite.trigger("drain")
    path = f"/api/v2/dags/drain/dagRuns/{run['dag_run_id']}/taskInstances"
    lite.wait_for(lambda: sum(t["state"] == "running" for t in lite.api("GET", path).json()["task_instances"]) == 4,
                  timeout=20)
    return lite, run


def _states(home) -> dict:
    with sqlite3.connect(home / "leoflow.db") as db:
        return dict(db.execute("SELECT task_id, state FROM task_instance WHERE dag_id = 'drain'"))


def test_sigterm_lets_running_tasks_finish_within_the_grace_then_records_the_rest(tmp_path, dags_folder):
    lite, run = _start_drain_run(tmp_path, dags_folder, grace="6")
    try:
        signalled = time.monotonic()
        lite.proc.send_signal(signal.SIGTERM)
        time.sleep(1)
        assert lite.proc.poll() is None  # draining, and still answering: the tasks report through the API
        assert httpx.get(f"{lite.base}/api/v2/monitor/health", timeout=5).status_code == 200
        assert lite.proc.wait(25) == 0
        took = time.monotonic() - signalled
    finally:
        lite.stop()
    assert 6 <= took < 20, took
    assert _states(tmp_path / "home") == {"short0": "success", "short1": "success", "short2": "success",
                                          "long": "up_for_retry"}
    log = (tmp_path / "home" / "logs" / "dag_id=drain" / f"run_id={run['dag_run_id']}" / "task_id=long"
           / "attempt=1.log").read_text()
    records = [json.loads(line) for line in log.splitlines()]
    assert all({"timestamp", "event", "level", "logger"} <= r.keys() for r in records)
    assert any(r["event"].startswith("Leoflow is shutting down and the try did not finish within the 6s grace")
               for r in records)
    assert "Stopping: no new task starts; waiting up to 6s for 4 running task(s)" in lite.output()


def test_a_second_sigterm_stops_at_once_and_still_records_every_task(tmp_path, dags_folder):
    lite, run = _start_drain_run(tmp_path, dags_folder, grace="30")
    try:
        lite.proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        signalled = time.monotonic()
        lite.proc.send_signal(signal.SIGINT)
        assert lite.proc.wait(15) == 0
        took = time.monotonic() - signalled
    finally:
        lite.stop()
    assert took < 8, took
    assert _states(tmp_path / "home") == {"short0": "failed", "short1": "failed", "short2": "failed",
                                          "long": "up_for_retry"}


def test_a_try_marked_failed_from_the_ui_says_so_in_its_log_and_its_command_ends(tmp_path, dags_folder):
    setup = BashSetup(tmp_path, dags_folder)
    lite = setup.lite(LEOFLOW_TASK_HEARTBEAT_INTERVAL="0.5").start()
    try:
        run = lite.trigger("long_bash")
        lite.wait_for(setup.first.exists, timeout=20)
        pids = setup.first_pids()
        path = f"/api/v2/dags/long_bash/dagRuns/{run['dag_run_id']}/taskInstances/run"
        assert lite.api("PATCH", path, json={"new_state": "failed"}).status_code == 200
        lite.wait_for(lambda: not any(alive(p) for p in pids), timeout=10)
        lite.wait_for(lambda: any("current_state': 'failed'" in r["event"]
                                  for r in setup.log_records(run["dag_run_id"], 1)), timeout=10)
    finally:
        lite.stop()
