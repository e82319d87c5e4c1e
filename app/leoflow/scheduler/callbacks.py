"""DAG-level `on_success_callback` / `on_failure_callback`, run when a run finishes.

Like Airflow's DAG processor, a child process imports the DAG file and calls the callback with the
run's context (plus `reason`: "success", "task_failure", "timed_out"); the scheduler never runs
user code itself and never waits for it. Children come from the fork server when there is one.
Plugin listeners' DAG-run hooks (`on_dag_run_running|success|failed`) are called the same way.
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


def _jsonable_run_changes(changes: dict) -> dict:
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in changes.items()}


def callback_payload(serialized: dict, run, state: str, reason: str) -> dict | None:
    """What the child needs, or None when the DAG has no callback for this outcome."""
    wanted = "has_on_success_callback" if state == "success" else "has_on_failure_callback"
    if not serialized.get(wanted):
        return None
    return {"fileloc": serialized.get("fileloc"), "dag_id": serialized["dag_id"], "state": state,
            "reason": reason, "dag_run": {**_jsonable_run(run), "state": state}}


def _version_number(conn, run) -> int | None:
    """The number of the DAG version the run was created with (what Airflow's `dag_run.version_number` is)."""
    version_id = getattr(run, "created_dag_version_id", None)
    if conn is None or version_id is None:
        return None
    from sqlalchemy import select

    from ..store.tables import dag_version

    return conn.execute(select(dag_version.c.version_number).where(dag_version.c.id == version_id)).scalar()


def _plugins():
    """The plugins folder's plugins, loaded once in this process (the scheduler's, for their listeners)."""
    from leoflow.sdk import plugins

    plugins.load()
    return plugins


class DagCallbacks:
    def __init__(self, forkserver=None, settings=None):
        self.forkserver = forkserver
        self.settings = settings
        self.children: list[subprocess.Popen] = []
        self.sent = 0

    def run_finished(self, serialized: dict, run, state: str, reason: str, conn=None) -> bool:
        import datetime as dt

        self.run_state_changed(run, state, reason, conn=conn, end_date=dt.datetime.now(dt.timezone.utc))
        payload = callback_payload(serialized, run, state, reason)
        if payload is None or not payload["fileloc"]:
            return False
        return self._send(payload)

    def run_state_changed(self, run, state: str, msg: str = "", conn=None, **changes) -> bool:
        """Plugin listeners' `on_dag_run_running|success|failed(dag_run=, msg=)`, as Airflow's scheduler
        calls them, but in a child process like the DAG's callbacks: the scheduler never runs user code
        nor waits for it. Nothing is started when no listener has the hook."""
        hook = f"on_dag_run_{state}"
        if state not in ("running", "success", "failed") or not _plugins().has_listener(hook):
            return False
        extra = {"queued_at": getattr(run, "queued_at", None), "version_number": _version_number(conn, run)}
        return self._send({"listener": hook, "msg": msg, "dag_id": run.dag_id, "dag_run": {
            **_jsonable_run(run), **_jsonable_run_changes({**extra, **changes}), "state": state}})

    def _send(self, payload: dict) -> bool:
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


class ListenedDagRun:
    """The `dag_run` a DAG-run listener receives: the run's fields as attributes (dates as datetimes)."""

    def __init__(self, fields: dict):
        import datetime as dt

        for key, value in fields.items():
            if key in _DATES and isinstance(value, str):
                value = dt.datetime.fromisoformat(value)
            setattr(self, key, value)

    def __repr__(self) -> str:
        return f"<DagRun {self.dag_id} @ {self.logical_date}: {self.run_id}, state:{self.state}>"


_DATES = ("logical_date", "data_interval_start", "data_interval_end", "run_after", "start_date", "end_date",
          "queued_at")


def run_listener_child(payload: dict) -> int:
    """In the child: call the plugins' DAG-run listener (0 = every listener returned). What a listener
    prints goes to the scheduler's stderr, its log: stdout may be a command's answer (`dags test -o json`)."""
    sys.stdout.flush()
    os.dup2(2, 1)
    plugins = _plugins()
    plugins.call_listeners(payload["listener"], dag_run=ListenedDagRun(payload["dag_run"]), msg=payload["msg"])
    return 0


def run_callback_child(payload: dict) -> int:
    """In the child: import the DAG file, build the context, call the callback(s). 0 = all ran."""
    import datetime as dt

    if payload.get("listener"):
        return run_listener_child(payload)
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
