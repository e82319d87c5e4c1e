"""Plugin listeners in a real `leoflow lite`: the task-instance hooks called in each try's own process
(`on_task_instance_running|success|failed`, with the runtime task instance), the DAG-run hooks called for
the scheduler in a child process (`on_dag_run_running|success|failed`, with the run), as Airflow 3.2
documents them. The listener module of the test's plugin writes one JSON line per call."""

from __future__ import annotations

import json
import textwrap
import time

import pytest

from .lite_process import Lite

LISTENER = '''
import json
import os

from airflow.listeners import hookimpl
from airflow.plugins_manager import AirflowPlugin


def _write(hook, **fields):
    with open(os.environ["LISTENED_TO"], "a") as f:
        f.write(json.dumps({"hook": hook, "pid": os.getpid(), **fields}) + "\\n")


@hookimpl
def on_task_instance_running(previous_state, task_instance):
    _write("on_task_instance_running", previous=str(previous_state), task=task_instance.task_id,
           run=task_instance.run_id, try_number=task_instance.try_number)


@hookimpl
def on_task_instance_success(previous_state, task_instance):
    _write("on_task_instance_success", previous=str(previous_state), task=task_instance.task_id)


@hookimpl
def on_task_instance_failed(previous_state, task_instance, error):
    _write("on_task_instance_failed", previous=str(previous_state), task=task_instance.task_id, error=str(error))


@hookimpl
def on_dag_run_running(dag_run, msg):
    _write("on_dag_run_running", dag=dag_run.dag_id, run=dag_run.run_id, state=dag_run.state,
           started=dag_run.start_date is not None, queued=dag_run.queued_at.year > 2000,
           version=dag_run.version_number)  # what Airflow's example listener reads


@hookimpl
def on_dag_run_success(dag_run, msg):
    _write("on_dag_run_success", dag=dag_run.dag_id, run=dag_run.run_id, state=dag_run.state, msg=msg,
           ended=dag_run.end_date is not None)


@hookimpl
def on_dag_run_failed(dag_run, msg):
    _write("on_dag_run_failed", dag=dag_run.dag_id, run=dag_run.run_id, state=dag_run.state, msg=msg)
    raise RuntimeError("a listener's own error changes nothing")


class ListenerPlugin(AirflowPlugin):
    name = "listens"
    listeners = [__import__(__name__)]
'''

DAG = '''
from airflow.sdk import DAG, task

with DAG("listened", schedule=None, default_args={"retries": 0}, params={"fail": False}):
    @task
    def work(params=None):
        if params["fail"]:
            raise ValueError("asked to fail")
        return 1

    work()
'''


@pytest.mark.timeout(180)
def test_plugin_listeners_hear_tries_and_runs(tmp_path):
    home, dags, plugins = tmp_path / "home", tmp_path / "dags", tmp_path / "plugins"
    for folder in (home, dags, plugins):
        folder.mkdir()
    (plugins / "listening.py").write_text(textwrap.dedent(LISTENER).replace("__import__(__name__)",
                                                                             "__import__('listening')"))
    (dags / "listened.py").write_text(DAG)
    heard = tmp_path / "heard.jsonl"
    lite = Lite(home, dags, env={"LEOFLOW_PLUGINS_FOLDER": str(plugins), "LISTENED_TO": str(heard)}).start()
    try:
        lite.wait_for_dag("listened")
        good = lite.trigger("listened", dag_run_id="good")["dag_run_id"]
        assert lite.wait_for_run("listened", good, timeout=60)["state"] == "success"
        bad = lite.trigger("listened", dag_run_id="bad", conf={"fail": True})["dag_run_id"]
        assert lite.wait_for_run("listened", bad, timeout=60)["state"] == "failed"

        def lines():
            return [json.loads(line) for line in heard.read_text().splitlines()] if heard.exists() else []

        deadline = time.monotonic() + 20  # the DAG-run listeners run in children of their own
        while sum(1 for x in lines() if x["hook"].startswith("on_dag_run_")) < 4 and time.monotonic() < deadline:
            time.sleep(0.1)
        calls = lines()
        by_hook = {}
        for call in calls:
            by_hook.setdefault(call.pop("hook"), []).append(call)
        assert [(c["task"], c["run"], c["previous"], c["try_number"]) for c in by_hook["on_task_instance_running"]] \
            == [("work", "good", "queued", 1), ("work", "bad", "queued", 1)]
        assert [c["task"] for c in by_hook["on_task_instance_success"]] == ["work"]
        assert [(c["task"], c["error"]) for c in by_hook["on_task_instance_failed"]] == [("work", "asked to fail")]
        assert [(c["run"], c["state"], c["started"], c["queued"], c["version"])
                for c in by_hook["on_dag_run_running"]] == [("good", "running", True, True, 1),
                                                            ("bad", "running", True, True, 1)]
        assert by_hook["on_dag_run_success"] == [{"dag": "listened", "run": "good", "state": "success",
                                                  "msg": "success", "ended": True,
                                                  "pid": by_hook["on_dag_run_success"][0]["pid"]}]
        assert [(c["run"], c["state"], c["msg"]) for c in by_hook["on_dag_run_failed"]] == \
            [("bad", "failed", "task_failure")]
        # a try's hooks in the try's process; the run's in a child, never the scheduler (lite) itself
        assert by_hook["on_task_instance_running"][0]["pid"] == by_hook["on_task_instance_success"][0]["pid"]
        assert lite.proc.pid not in {c["pid"] for c in calls}
    finally:
        lite.stop()
