"""DAG-level `on_success_callback` / `on_failure_callback`, run when a run finishes.

Like Airflow's DAG processor, a child process imports the DAG file and calls the callback with the
run's context (plus `reason`: "success", "task_failure", "timed_out"); the scheduler never runs
user code itself and never waits for it. Children come from the fork server when there is one.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
import uuid

log = logging.getLogger(__name__)


def _jsonable_run(run) -> dict:
    fields = ("dag_id", "run_id", "logical_date", "data_interval_start", "data_interval_end", "run_after",
              "start_date", "end_date", "run_type", "conf", "clear_number", "triggering_user_name", "note")
    out = {}
    for name in fields:
        value = getattr(run, name, None)
        out[name] = value.isoformat() if hasattr(value, "isoformat") else value
    return out


def callback_payload(serialized: dict, run, state: str, reason: str) -> dict | None:
    """What the child needs, or None when the DAG has no callback for this outcome."""
    wanted = "has_on_success_callback" if state == "success" else "has_on_failure_callback"
    if not serialized.get(wanted):
        return None
    return {"fileloc": serialized.get("fileloc"), "dag_id": serialized["dag_id"], "state": state,
            "reason": reason, "dag_run": {**_jsonable_run(run), "state": state}}


class DagCallbacks:
    def __init__(self, forkserver=None, settings=None):
        self.forkserver = forkserver
        self.settings = settings
        self.children: list[subprocess.Popen] = []
        self.sent = 0

    def run_finished(self, serialized: dict, run, state: str, reason: str) -> bool:
        payload = callback_payload(serialized, run, state, reason)
        if payload is None or not payload["fileloc"]:
            return False
        if self.settings is not None:
            payload["env"] = {"api_url": getattr(self.settings, "execution_api_url", None)}
        self.sent += 1
        if self.forkserver is not None:
            self.forkserver.submit(f"callback-{uuid.uuid4()}", "callback", payload)
            return True
        if getattr(sys, "frozen", False):
            log.warning("DAG %s: no fork server to run its %s callback in", payload["dag_id"], state)
            return False
        fd, path = tempfile.mkstemp(prefix="leoflow-callback-", suffix=".json")
        with os.fdopen(fd, "w") as f:
            json.dump(payload, f)
        self.children = [c for c in self.children if c.poll() is None]
        self.children.append(subprocess.Popen([sys.executable, "-m", "leoflow.scheduler.callbacks", path]))
        return True


def run_callback_child(payload: dict) -> int:
    """In the child: import the DAG file, build the context, call the callback(s). 0 = all ran."""
    import datetime as dt

    from leoflow.sdk import collect
    from leoflow.sdk.runtime import build_context

    dags = {d.dag_id: d for d in collect.dags_from_file(payload["fileloc"])}
    dag = dags.get(payload["dag_id"])
    if dag is None:
        print(f"DAG {payload['dag_id']} is no longer defined in {payload['fileloc']}", file=sys.stderr)
        return 1
    callbacks = dag.on_success_callback if payload["state"] == "success" else dag.on_failure_callback
    if callbacks is None:
        return 0
    if not isinstance(callbacks, (list, tuple)):
        callbacks = [callbacks]
    run = dict(payload["dag_run"])
    for key in ("logical_date", "data_interval_start", "data_interval_end", "run_after", "start_date", "end_date"):
        if isinstance(run.get(key), str):
            run[key] = dt.datetime.fromisoformat(run[key])
    tasks = list(getattr(dag, "tasks", []) or [])
    task = tasks[-1] if tasks else None
    context = build_context(dag, task, {"dag_id": dag.dag_id, "task_id": getattr(task, "task_id", None),
                                        "run_id": run["run_id"], "try_number": 1, "map_index": -1}, run) \
        if task is not None else {"dag": dag, "run_id": run["run_id"]}
    context["reason"] = payload["reason"]
    failed = 0
    for callback in callbacks:
        try:
            callback(context)
        except Exception:
            failed += 1
            log.exception("DAG %s: %s callback %r failed", dag.dag_id, payload["state"], callback)
    return 1 if failed else 0


if __name__ == "__main__":  # the fallback child: python -m leoflow.scheduler.callbacks PAYLOAD.json
    from leoflow import userlibs

    userlibs.activate(inherited=True)
    with open(sys.argv[1]) as f:
        data = json.load(f)
    os.unlink(sys.argv[1])
    sys.exit(run_callback_child(data))
