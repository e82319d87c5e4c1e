"""Run one task instance: the whole life of a try, spoken through the Execution API.

1. PATCH .../run (queued → running) and receive the run's context.
2. Load the DAG file, find the task, render and execute it.
3. Push the return value as XCom, store the rendered fields.
4. PATCH .../state with success / skipped / up_for_retry / failed.
Meanwhile a thread heart-beats; if the server says the try is no longer
running (marked failed, cleared), the process ends itself.
"""

from __future__ import annotations

import datetime as dt
import getpass
import logging
import os
import signal
import socket
import threading
from pathlib import Path

from ..secrets import masker
from .client import ApiError, ExecutionClient
from .logfile import TaskLog

log = logging.getLogger("airflow.task")


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _parse_dt(value):
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


class HttpComms:
    """The SDK's view of the control plane (XCom, Variables, Connections) over the Execution API."""

    def __init__(self, client: ExecutionClient):
        self.client = client

    def get_xcom(self, dag_id, run_id, task_id, key, map_index=-1):
        try:
            body = self.client.request("GET", f"xcoms/{dag_id}/{run_id}/{task_id}/{key}", params={"map_index": map_index})
        except ApiError as err:
            if err.status == 404:
                return False, None
            raise
        return True, body["value"]

    def set_xcom(self, dag_id, run_id, task_id, key, value, map_index=-1):
        self.client.request("POST", f"xcoms/{dag_id}/{run_id}/{task_id}/{key}", body=value,
                            params={"map_index": map_index})

    def get_variable(self, key):
        try:
            value = self.client.request("GET", f"variables/{key}")["value"]
            masker.mask_variable(key, value)  # a sensitive variable is masked in this task's log
            return value
        except ApiError as err:
            if err.status == 404:
                return None
            raise

    def set_variable(self, key, value, description=None):
        self.client.request("PUT", f"variables/{key}", body={"value": value, "description": description})

    def get_connection(self, conn_id):
        try:
            data = self.client.request("GET", f"connections/{conn_id}")
            masker.mask_connection(data)  # its password and sensitive extras are masked in this task's log
            return data
        except ApiError as err:
            if err.status == 404:
                return None
            raise


class Heartbeat(threading.Thread):
    def __init__(self, client: ExecutionClient, ti_id: str, interval: float):
        super().__init__(daemon=True, name="heartbeat")
        self.client, self.ti_id, self.interval = client, ti_id, interval
        self.stopped = threading.Event()

    def run(self) -> None:
        body = {"hostname": socket.gethostname(), "pid": os.getpid()}
        failures = 0
        while not self.stopped.wait(self.interval):
            try:
                self.client.request("PUT", f"task-instances/{self.ti_id}/heartbeat", body=body)
                failures = 0
            except ApiError as err:
                if err.status in (404, 409, 410):
                    log.error("The server ended this try (%s); stopping the task", err.body)
                    os.kill(os.getpid(), signal.SIGTERM)
                    return
            except OSError:
                failures += 1  # the server may be restarting; it decides when the try is a zombie


def run_workload(workload: dict) -> int:
    """Run the task instance described by `workload`; the exit code is 0 if the try ended as reported."""
    path = Path(workload["log_path"])
    with TaskLog(path):
        try:
            return _run(workload)
        except Exception:
            log.exception("The task runner failed")
            return 1


def _run(w: dict) -> int:
    client = ExecutionClient(w["api_url"], w["token"])
    ti_id = w["ti_id"]
    try:
        ctx = client.request("PATCH", f"task-instances/{ti_id}/run", body={
            "state": "running", "hostname": socket.gethostname(), "unixname": getpass.getuser(),
            "pid": os.getpid(), "start_date": _utcnow()})
    except ApiError as err:
        log.error("The server refused to start this try: %s", err.body)
        return 1
    heartbeat = Heartbeat(client, ti_id, float(w.get("heartbeat_interval", 5.0)))
    heartbeat.start()
    state = "failed"
    try:
        state = _execute(w, ctx, client)
    finally:
        heartbeat.stopped.set()
        try:
            client.request("PATCH", f"task-instances/{ti_id}/state", body={"state": state, "end_date": _utcnow()})
        except ApiError as err:
            log.error("Could not report the final state %s: %s", state, err.body)
            return 1
    return 0


def _execute(w: dict, ctx: dict, client: ExecutionClient) -> str:
    from leoflow.sdk import collect, runtime
    from leoflow.sdk.exceptions import AirflowFailException, AirflowSkipException

    dag_run = dict(ctx["dag_run"])
    for key in ("logical_date", "data_interval_start", "data_interval_end", "run_after", "start_date", "end_date"):
        dag_run[key] = _parse_dt(dag_run.get(key))
    ti = {"id": w["ti_id"], "dag_id": w["dag_id"], "task_id": w["task_id"], "run_id": w["run_id"],
          "try_number": w["try_number"], "map_index": w.get("map_index", -1), "max_tries": ctx["max_tries"]}
    try:
        dags = collect.dags_from_file(w["fileloc"])
        dag = next((d for d in dags if d.dag_id == w["dag_id"]), None)
        if dag is None:
            raise LookupError(f"DAG {w['dag_id']!r} is not defined in {w['fileloc']}")
        task = dag.task_dict.get(w["task_id"])
        if task is None:
            raise LookupError(f"Task {w['task_id']!r} is not in DAG {w['dag_id']!r}")
    except BaseException:
        log.exception("Could not load the task from its DAG file")
        return "up_for_retry" if ctx.get("should_retry") else "failed"

    runtime.set_comms(HttpComms(client))
    context = runtime.build_context(dag, task, ti, dag_run)
    try:
        result = runtime.execute_task(task, context)  # enforces execution_timeout itself
        _store_rendered(client, w["ti_id"], task, runtime)
        _push_result(client, w, task, result)
        return "success"
    except AirflowSkipException as exc:
        _store_rendered(client, w["ti_id"], task, runtime)
        log.info("Skipping task: %s", exc)
        return "skipped"
    except AirflowFailException:
        log.exception("Task failed; it asked not to be retried")
        return "failed"
    except BaseException:
        _store_rendered(client, w["ti_id"], task, runtime)
        log.exception("Task failed with exception")
        return "up_for_retry" if ctx.get("should_retry") else "failed"


def _push_result(client: ExecutionClient, w: dict, task, result) -> None:
    if result is None or not getattr(task, "do_xcom_push", True):
        return
    comms = HttpComms(client)
    key = (w["dag_id"], w["run_id"], w["task_id"])
    if getattr(task, "multiple_outputs", False) and isinstance(result, dict):
        for k, v in result.items():
            comms.set_xcom(*key, str(k), v, w.get("map_index", -1))
    log.info("Pushing xcom")
    comms.set_xcom(*key, "return_value", result, w.get("map_index", -1))


def _store_rendered(client: ExecutionClient, ti_id: str, task, runtime) -> None:
    try:
        fields = runtime.rendered_fields(task)
        client.request("PUT", f"task-instances/{ti_id}/rtif", body=masker.redact_record(fields))  # no secrets
    except Exception:
        log.warning("Could not store the rendered template fields", exc_info=True)
