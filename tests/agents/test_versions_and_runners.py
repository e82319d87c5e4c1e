"""Agents run the DAG code their run was created with, can run tries through Airflow's own task runner,
and stay idle while their server is out of reach. Each agent on its own "host" (network namespace)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.airflow_runner.conftest import airflow_python  # noqa: F401 - the fixture: Airflow 3.2.1's venv
from tests.server.cluster import wait_for

pytestmark = [pytest.mark.server, pytest.mark.timeout(300)]

VERSIONED = '''
import time

from airflow.sdk import dag, task

MARK = "{mark}"


@dag(dag_id="versioned", schedule=None, catchup=False)
def versioned():
    @task(queue="qv")
    def first():
        time.sleep(4)

    @task(queue="qv")
    def second():
        print("running mark", MARK, flush=True)
        return MARK

    first() >> second()


versioned()
'''

THROUGH_AIRFLOW = '''
import sys

from airflow.sdk import dag, task
from helpers.numbers import double  # beside the DAG file, in the bundle's folder


@dag(dag_id="through_airflow", schedule=None, catchup=False)
def through_airflow():
    @task(queue="qair")
    def doubled():
        print("interpreter", sys.executable, "doubled", double(21), flush=True)
        return double(21)

    doubled()


through_airflow()
'''

NAP = '''
import time

from airflow.sdk import dag, task


@dag(dag_id="nap", schedule=None, catchup=False)
def nap():
    @task(queue="qidle")
    def short_nap():
        time.sleep(3)

    short_nap()


nap()
'''


def _log(cluster, dag_id: str, run_id: str, task_id: str) -> str:
    r = cluster.server.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/1")
    assert r.status_code == 200, r.text
    return str(r.json())


def _run_bundle(cluster, run_id: str) -> str | None:
    return cluster.sql("SELECT bundle_version FROM dag_run WHERE run_id = :r", r=run_id)[0].bundle_version


def test_a_try_runs_its_runs_bundle_not_the_folder_changed_since(cluster):
    dag_file = cluster.dags / "versioned.py"
    dag_file.write_text(VERSIONED.format(mark="one"))
    cluster.add_agent("agent-v", cluster.hosts[0], "qv")
    cluster.wait_agents_heard(["agent-v"])
    old = cluster.trigger("versioned")
    recorded = _run_bundle(cluster, old)  # recorded when the run was made, before any try is queued
    assert recorded and len(recorded) == 64, recorded
    wait_for(lambda: cluster.sql("SELECT state FROM task_instance WHERE run_id = :r AND task_id = 'first'", r=old)
             == [("running",)], 60, "the first task running")
    dag_file.write_text(VERSIONED.format(mark="two"))  # the second task is queued after this
    time.sleep(1.5)  # the folder is looked at at most once a second
    assert cluster.wait_run("versioned", old) == "success"
    assert "running mark one" in _log(cluster, "versioned", old, "second")
    jobs = cluster.sql("SELECT j.bundle_sha, j.workload FROM agent_job j JOIN task_instance t ON t.id = j.ti_id "
                       "WHERE t.run_id = :r", r=old)
    assert len(jobs) == 2 and {j.bundle_sha for j in jobs} == {recorded}
    assert all(f'"version": "{recorded}"' in j.workload for j in jobs)  # the workload's bundle_info.version
    r = cluster.server.api("GET", f"/api/v2/dags/versioned/dagRuns/{old}")
    assert r.json()["bundle_version"] == recorded

    new = cluster.trigger("versioned")
    assert cluster.wait_run("versioned", new) == "success"
    assert "running mark two" in _log(cluster, "versioned", new, "second")
    assert _run_bundle(cluster, new) not in (None, recorded)
    # Cleared "on the latest version", the old run takes the current bundle for its next try.
    r = cluster.server.api("POST", "/api/v2/dags/versioned/clearTaskInstances", json={
        "dag_run_id": old, "task_ids": ["second"], "dry_run": False, "only_failed": False,
        "run_on_latest_version": True})
    assert r.status_code == 200, r.text
    assert cluster.wait_run("versioned", old) == "success"
    wait_for(lambda: cluster.sql("SELECT try_number, state FROM task_instance WHERE run_id = :r AND task_id = 'second'",
                                 r=old) == [(2, "success")], 60, "the cleared task's second try")
    r = cluster.server.api("GET", f"/api/v2/dags/versioned/dagRuns/{old}/taskInstances/second/logs/2")
    assert "running mark two" in str(r.json()), r.text[-2000:]
    assert _run_bundle(cluster, old) == _run_bundle(cluster, new)
    # Both bundles are kept by hash in the agent's home.
    cached = {p.name for p in (cluster.root / "agent-agent-v" / "bundles").iterdir() if not p.name.startswith(".")}
    assert {recorded, _run_bundle(cluster, new)} <= cached


def test_an_agent_runs_a_try_through_airflows_task_runner(cluster, airflow_python):  # noqa: F811
    (cluster.dags / "through_airflow.py").write_text(THROUGH_AIRFLOW)
    env = {**cluster.agent_env, "LEOFLOW_TASK_RUNNER": "airflow", "LEOFLOW_AIRFLOW_PYTHON": airflow_python,
           "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": "1"}
    agent = cluster.add_agent("agent-air", cluster.hosts[1], "qair", env=env)
    cluster.wait_agents_heard(["agent-air"], timeout=120)
    run_id = cluster.trigger("through_airflow")
    try:
        state = cluster.wait_run("through_airflow", run_id, timeout=180)
    finally:
        agent.stop()
    text = _log(cluster, "through_airflow", run_id, "doubled")
    assert state == "success", text[-4000:] + agent.output()
    assert "doubled 42" in text, text[-3000:]
    assert f"interpreter {airflow_python}" in text  # Airflow's interpreter, not Leoflow's
    assert "supervisor" in text  # the supervisor's own lines: Airflow's runner wrote this log
    assert "Started Airflow 3.2.1's task runner" in agent.output()


def _session_cpu_seconds(session: int) -> float:
    """User + system CPU of every process in the session (the agent, its fork server, its tries)."""
    ticks = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if int(fields[3]) == session:  # field 6 of stat: the session id
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def _cpu_over(agent, seconds: float) -> float:
    before = _session_cpu_seconds(agent.proc.pid)
    time.sleep(seconds)
    return _session_cpu_seconds(agent.proc.pid) - before


def test_an_agent_out_of_reach_of_its_server_stays_idle_and_a_drained_one_ends(cluster):
    (cluster.dags / "nap.py").write_text(NAP)
    agent = cluster.add_agent("agent-idle", cluster.hosts[0], "qidle", concurrency=2)
    stray = cluster.add_agent("agent-stray", cluster.hosts[1], "qstray")
    cluster.wait_agents_heard(["agent-idle", "agent-stray"])
    # Cut off from its server (what an agent whose test run was interrupted is left with): it retries
    # with backoff, and costs next to nothing meanwhile.
    stray.host.cut()
    try:
        stray_cpu = _cpu_over(stray, 10)
        assert stray_cpu < 1.0, f"an agent that cannot reach its server used {stray_cpu:.2f} s of CPU in 10 s"
        assert "Heartbeat failed" in stray.output()
    finally:
        stray.stop(5)
        stray.host.restore()

    # Draining while its try runs and its server is cut off: it waits without spinning; once cut off
    # past the zombie threshold (its report would be refused: the server retried the try) it ends.
    run_id = cluster.trigger("nap")
    wait_for(lambda: cluster.sql("SELECT state FROM task_instance WHERE run_id = :r", r=run_id) == [("running",)],
             60, "the nap running")
    agent.host.cut()
    try:
        agent.proc.send_signal(signal.SIGTERM)
        busy = _cpu_over(agent, 8)
        assert busy < 1.0, f"a draining agent cut off from its server used {busy:.2f} s of CPU in 8 s"
        assert agent.proc.wait(40) == 0, agent.output()
        assert "undelivered" in agent.output()
    finally:
        agent.host.restore()
    assert cluster.wait_run("nap", run_id, timeout=60) in ("success", "failed")
