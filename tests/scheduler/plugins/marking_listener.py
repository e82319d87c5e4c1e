"""A plugin listener that writes what it hears to $LEOFLOW_TEST_MARKS/listener.log (test_semantics_runs.py)."""

import os
from pathlib import Path

from airflow.listeners import hookimpl
from airflow.plugins_manager import AirflowPlugin


def _write(line: str) -> None:
    with open(Path(os.environ["LEOFLOW_TEST_MARKS"]) / "listener.log", "a") as out:
        out.write(line + "\n")


class MarkingListener:
    @hookimpl
    def on_task_instance_running(self, previous_state, task_instance):
        task = task_instance.get_template_context()["task"]
        _write(f"running {task.task_id} from {previous_state}")

    @hookimpl
    def on_task_instance_success(self, previous_state, task_instance):
        _write(f"success {task_instance.task_id}")

    @hookimpl
    def on_task_instance_failed(self, previous_state, task_instance, error):
        _write(f"failed {task_instance.task_id}: {type(error).__name__}")


class MarkingPlugin(AirflowPlugin):
    name = "marking_listener"
    listeners = [MarkingListener()]
