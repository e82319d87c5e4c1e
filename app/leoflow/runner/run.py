"""Run one task instance: the whole life of a try, spoken through the Execution API.

The job is Airflow's `ExecuteTask` workload (see executors/workload.py) plus where things are on this
machine: the Execution API's URL, the DAG file, the log folder, the heartbeat interval.

1. PATCH .../run (queued → running) with the workload's token, and receive the run's context and the
   try's execution token.
2. Load the DAG file, find the task, render and execute it.
3. Push XComs; the return value and the rendered fields travel with the final state (one request less).
4. PATCH .../state with success / skipped / up_for_retry / failed.
Meanwhile a thread heart-beats; if the server says the try is no longer
running (marked failed, cleared), the process ends itself.
"""

from __future__ import annotations

import datetime as dt
import functools
import getpass
import logging
import os
import signal
import socket
import sys
import threading
from pathlib import Path

from ..secrets import masker
from .client import ApiError, ExecutionClient
from .logfile import TaskLog, UnsafeLogPath, resolve_log_path

log = logging.getLogger("airflow.task")


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _parse_dt(value):
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def _encode(value):
    """XCom values as Airflow 3.2 stores them: JSON, with datetimes, dates, timedeltas, tuples and sets in
    Airflow's serde shapes, so they come back as the same types when pulled."""
    from leoflow.scheduler import serde

    try:
        return serde.encode(value)
    except TypeError:
        raise TypeError(f"cannot serialize an object of type {type(value).__qualname__} as an XCom: Leoflow "
                        "stores JSON types, datetimes, dates, timedeltas, tuples, sets and decimals") from None


def _decode(value):
    from leoflow.scheduler import serde

    return serde.decode(value)


def _q(segment) -> str:
    """One path segment, percent-encoded (keys and run ids hold spaces, `+` and `:`)."""
    import urllib.parse

    return urllib.parse.quote(str(segment), safe="")


def _xcom_path(dag_id, run_id, task_id, key) -> str:
    return f"xcoms/{_q(dag_id)}/{_q(run_id)}/{_q(task_id)}/{_q(key)}"


def _query_value(value):
    if isinstance(value, (list, tuple, set)):
        return [_query_value(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return str(value).lower()
    return value


RETURN_KEY = "return_value"
DEFERRED_RETURN_LIMIT = 64 * 1024  # bytes of JSON: a bigger return value is pushed on its own, as before


class HttpComms:
    """The SDK's view of the control plane (XCom, Variables, Connections) over the Execution API.

    The try's own return value is kept until the final state report, which stores it in the state's
    transaction (`return_value` in the body): a request and a commit less per task. A read of XComs
    before that sends it first, so the try always reads what it wrote."""

    def __init__(self, client: ExecutionClient, own: tuple | None = None):
        self.client = client
        self.own = own  # (dag_id, run_id, task_id, map_index) of the try
        self._pending: list = []  # [encoded return value] while it waits for the report

    def flush(self) -> None:
        if self._pending:
            dag_id, run_id, task_id, map_index = self.own
            value = self._pending.pop()
            self.client.request("POST", _xcom_path(dag_id, run_id, task_id, RETURN_KEY), body=value,
                                params={"map_index": map_index})

    def take_return_value(self) -> list:
        """[the encoded return value] for the final report, or [] when there is none waiting."""
        pending, self._pending = self._pending, []
        return pending

    def get_xcom(self, dag_id, run_id, task_id, key, map_index=-1, include_prior_dates=False):
        self.flush()
        params = {"map_index": map_index}
        if include_prior_dates:
            params["include_prior_dates"] = "true"
        try:
            body = self.client.request("GET", _xcom_path(dag_id, run_id, task_id, key), params=params)
        except ApiError as err:
            if err.status == 404:
                return False, None
            raise
        return True, _decode(body["value"])

    def set_xcom(self, dag_id, run_id, task_id, key, value, map_index=-1, mapped_length=None):
        if key == RETURN_KEY and mapped_length is None and (dag_id, run_id, task_id, map_index) == self.own:
            import json

            encoded = _encode(value)
            if len(json.dumps(encoded)) <= DEFERRED_RETURN_LIMIT:
                self._pending = [encoded]
                return
        if key == RETURN_KEY and (dag_id, run_id, task_id, map_index) == self.own:
            self._pending = []  # this push replaces a waiting one
        params = {"map_index": map_index}
        if mapped_length is not None:
            params["mapped_length"] = mapped_length
        self.client.request("POST", _xcom_path(dag_id, run_id, task_id, key), body=_encode(value), params=params)

    def get_xcom_sequence(self, dag_id, run_id, task_id, key):
        """Every map index's value, in map-index order ([] when there is none)."""
        self.flush()
        return _decode(self.client.request("GET", f"{_xcom_path(dag_id, run_id, task_id, key)}/slice") or [])

    def get_json(self, path, params=None):
        """A GET for the context's readers (asset events, counts of other DAGs' runs); None when 404."""
        self.flush()
        try:
            return self.client.request("GET", path, params={k: _query_value(v) for k, v in (params or {}).items()
                                                           if v is not None})
        except ApiError as err:
            if err.status == 404:
                return None
            raise

    def get_previous_successful_dagrun(self, ti_id):
        return self.client.request("GET", f"task-instances/{ti_id}/previous-successful-dagrun")

    def get_variable(self, key):
        try:
            value = self.client.request("GET", f"variables/{_q(key)}")["value"]
            masker.mask_variable(key, value)  # a sensitive variable is masked in this task's log
            return value
        except ApiError as err:
            if err.status == 404:
                return None
            raise

    def set_variable(self, key, value, description=None):
        self.client.request("PUT", f"variables/{_q(key)}", body={"val": value, "description": description})

    def delete_variable(self, key):
        self.client.request("DELETE", f"variables/{_q(key)}")

    def get_connection(self, conn_id):
        try:
            data = self.client.request("GET", f"connections/{_q(conn_id)}")
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


def run_workload(job: dict) -> int:
    """Run the try of `job`; the exit code is 0 if the try ended as reported.

    `job` (made by the local executor): `workload` (the ExecuteTask document), `fileloc` (its DAG file
    here), `logs_folder`, `api_url` (the Execution API), `heartbeat_interval`. The workload's `log_path`
    is relative to `logs_folder`, as in Airflow's ExecuteTask, and must stay inside it.
    """
    try:
        path = resolve_log_path(job["logs_folder"], job["workload"]["log_path"])
    except UnsafeLogPath as exc:  # no log can be written: say so where the fork server's output goes
        print(f"leoflow: try {job['workload'].get('ti', {}).get('id')} not run: {exc}", file=sys.stderr)
        return 1
    with TaskLog(path, Path(job["logs_folder"])):
        try:
            return _run(job)
        except Exception:
            log.exception("The task runner failed")
            return 1


@functools.lru_cache(maxsize=1)
def unixname() -> str:
    """The OS user the task runs as. Looked up once in the fork server (a passwd lookup per task cost
    more than half a millisecond), and inherited by every task forked from it."""
    return getpass.getuser()


def _run(job: dict) -> int:
    client = ExecutionClient(job["api_url"], job["workload"]["token"], ca_file=job.get("api_ca_file") or None,
                             pinned=bool(job.get("api_ca_pinned")))
    ti_id = job["workload"]["ti"]["id"]
    try:
        ctx = client.request("PATCH", f"task-instances/{ti_id}/run", body={
            "state": "running", "hostname": socket.gethostname(), "unixname": unixname(),
            "pid": os.getpid(), "start_date": _utcnow()})
    except ApiError as err:
        log.error("The server refused to start this try: %s", err.body)
        return 1
    heartbeat = Heartbeat(client, ti_id, float(job.get("heartbeat_interval", 5.0)))
    # Without threading.Thread's start handshake: a thread start cost milliseconds of a short task.
    import _thread

    _thread.start_new_thread(heartbeat.run, ())
    w = job["workload"]["ti"]
    comms = HttpComms(client, own=(w["dag_id"], w["run_id"], w["task_id"], w.get("map_index", -1)))
    report = {"state": "failed"}
    try:
        report = _execute(job, ctx, client, comms)
    finally:
        heartbeat.stopped.set()
        for value in comms.take_return_value():  # stored with the state, in its transaction
            report = {**report, "return_value": value}
        try:
            client.request("PATCH", f"task-instances/{ti_id}/state", body={**report, "end_date": _utcnow()})
        except ApiError as err:
            log.error("Could not report the final state %s: %s", report.get("state"), err.body)
            return 1
    return 0


def _execute(job: dict, ctx: dict, client: ExecutionClient, comms: HttpComms) -> dict:
    """Load, run and classify one try; returns the body of the final state report."""
    from leoflow.sdk import runtime

    from .preload import dags_from_file

    dag_run = dict(ctx["dag_run"])
    for key in ("logical_date", "data_interval_start", "data_interval_end", "run_after", "start_date", "end_date"):
        dag_run[key] = _parse_dt(dag_run.get(key))
    w, fileloc = job["workload"]["ti"], job["fileloc"]  # the workload's task instance, its DAG file
    map_index = w.get("map_index", -1)
    ti = {"id": w["id"], "dag_id": w["dag_id"], "task_id": w["task_id"], "run_id": w["run_id"],
          "try_number": w["try_number"], "map_index": map_index, "max_tries": ctx["max_tries"]}
    runtime.set_comms(comms)
    retry_or_fail = "up_for_retry" if ctx.get("should_retry") else "failed"
    try:
        dags = dags_from_file(fileloc)
        dag = next((d for d in dags if d.dag_id == w["dag_id"]), None)
        if dag is None:
            raise LookupError(f"DAG {w['dag_id']!r} is not defined in {fileloc}")
        task = dag.task_dict.get(w["task_id"])
        if task is None:
            raise LookupError(f"Task {w['task_id']!r} is not in DAG {w['dag_id']!r}")
        unmapped = task
        if map_index >= 0:  # this map index's own operator, its mapped arguments pulled from upstream XComs
            task = task.expand_for(map_index, runtime.make_pull(comms, dag, w["dag_id"], w["run_id"]))
    except BaseException:
        log.exception("Could not load the task from its DAG file")
        return {"state": retry_or_fail}

    context = runtime.build_context(dag, task, ti, dag_run, server_context=ctx)
    _stop_task_on_sigterm(task)
    outcome = runtime.run_task(task, context, is_mapped=map_index >= 0 or runtime.needs_expansion(unmapped),
                               should_retry=bool(ctx.get("should_retry")), next_method=ctx.get("next_method"),
                               next_kwargs=ctx.get("next_kwargs"))
    rendered = _rendered_fields(task, runtime)
    if outcome.skip_downstream:
        client.request("PATCH", f"task-instances/{w['id']}/skip-downstream",
                       body={"tasks": outcome.skip_downstream})
    runtime.run_callbacks(task, context, outcome.state)
    report = outcome.report()
    if rendered is not None:  # stored with the state, in its transaction: one request less per task
        report["rendered_fields"] = rendered
    return report


def _stop_task_on_sigterm(task) -> None:
    """When the server ends the try (marked failed, fail_fast, timeout) the task's own `on_kill` cleans up
    (e.g. BashOperator stops its child process), then the try ends."""
    if threading.current_thread() is not threading.main_thread():
        return

    def on_term(signum, frame):
        log.error("Received SIGTERM. Terminating subprocesses.")
        try:
            task.on_kill()
        except Exception:
            log.exception("on_kill failed")
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)


def _rendered_fields(task, runtime) -> dict | None:
    try:
        return masker.redact_record(runtime.rendered_fields(task))  # no secrets
    except Exception:
        log.warning("Could not store the rendered template fields", exc_info=True)
        return None
