"""Clearing a running task on a real `leoflow lite`: its runner stops, the task runs again, the run finishes."""

import time

import pytest

from tests.e2e.lite_process import Lite

SLOW_FIRST_TRY = '''
import time
from airflow.sdk import dag, task

@dag(dag_id="slow_once", schedule=None)
def slow_once():
    @task
    def work():
        from airflow.sdk import get_current_context
        if get_current_context()["ti"].try_number == 1:
            for i in range(600):
                print(f"tick {i}", flush=True)
                time.sleep(0.1)
        return "second try"

    @task
    def after(value):
        return value

    after(work())

slow_once()
'''


@pytest.fixture
def lite(tmp_path):
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "slow_once.py").write_text(SLOW_FIRST_TRY)
    home = tmp_path / "home"
    home.mkdir()
    server = Lite(home, dags, env={"LEOFLOW_TASK_HEARTBEAT_INTERVAL": "0.3"}).start()
    yield server
    server.stop()


def test_clearing_a_running_task_restarts_it(lite):
    run = lite.trigger("slow_once")
    base = f"/api/v2/dags/slow_once/dagRuns/{run['dag_run_id']}/taskInstances"
    lite.wait_for(lambda: lite.api("GET", f"{base}/work").json().get("state") == "running", timeout=30)

    # The running try's log as the UI tails it: a source header, then more lines at each token.
    def ticks(body):
        return [e["event"] for e in body["content"] if str(e.get("event", "")).startswith("tick")]

    first = lite.wait_for(lambda: (lambda b: b if ticks(b) else None)(
        lite.api("GET", f"{base}/work/logs/1").json()), timeout=20)
    assert first["content"][0]["event"] == "::group::Log message source details"
    assert first["continuation_token"]
    more = lite.wait_for(lambda: (lambda b: b if ticks(b) else None)(
        lite.api("GET", f"{base}/work/logs/1", params={"token": first["continuation_token"]}).json()), timeout=10)
    assert not more["content"][0]["event"].startswith("::group::")  # only what came after the token
    assert int(ticks(more)[0].split()[1]) > int(ticks(first)[-1].split()[1])
    ndjson = lite.api("GET", f"{base}/work/logs/1", headers={"Accept": "application/x-ndjson"})
    assert ndjson.headers["content-type"].startswith("application/x-ndjson")
    assert ndjson.text.splitlines()[0].startswith('{"timestamp":null,"event":"::group::')
    resp = lite.api("POST", "/api/v2/dags/slow_once/clearTaskInstances",
                    json={"dry_run": False, "dag_run_id": run["dag_run_id"], "task_ids": ["work"],
                          "only_failed": False})
    assert resp.status_code == 200, resp.text
    assert [t["task_id"] for t in resp.json()["task_instances"]] == ["work"]
    started = time.monotonic()
    done = lite.wait_for_run("slow_once", run["dag_run_id"], timeout=40)
    assert done["state"] == "success"
    assert time.monotonic() - started < 30  # the first try was stopped, not waited for
    work = lite.api("GET", f"{base}/work").json()
    assert work["try_number"] == 2 and work["state"] == "success"
    tries = lite.api("GET", f"{base}/work/tries").json()
    assert [t["try_number"] for t in tries["task_instances"]] == [1, 2]
    xcom = lite.api("GET", f"{base}/after/xcomEntries/return_value").json()
    assert xcom["value"] == "second try"
