"""The local executor: every task instance runs as a child of the fork server on this machine."""

from __future__ import annotations

import logging
import os
import signal
import threading

from . import proctree
from .forkserver import ForkServer

log = logging.getLogger(__name__)


def log_key(workload: dict) -> tuple:
    """(dag_id, run_id, task_id, map_index, try_number) of an ExecuteTask workload: its shipped log's key."""
    ti = workload["ti"]
    return (ti["dag_id"], ti["run_id"], ti["task_id"], ti.get("map_index", -1), ti["try_number"])


def log_file(settings, workload: dict):
    """The try's log file (the workload's path is relative to the logs folder)."""
    from ..runner.logfile import resolve_log_path

    return resolve_log_path(settings.logs_folder, workload["log_path"])


class LocalExecutor:
    name = "LocalExecutor"

    def __init__(self, forkserver: ForkServer, parallelism: int, settings):
        self.forkserver = forkserver
        self.parallelism = parallelism
        self.settings = settings
        self._lock = threading.Lock()
        self._running: dict[str, dict] = {}  # job id (one per try) -> workload
        self._ending: dict[str, str] = {}  # job id -> why Leoflow is ending it (zombie, shutdown)
        self._exits: list[dict] = []
        self.on_event = lambda: None  # set by the scheduler: wake up
        self.log_shipper = None  # a server's LogShipper: every try's log reaches the database too
        forkserver.add_listener(self._on_forkserver_event)
        # LEOFLOW_TASK_RUNNER=airflow: Airflow's own supervisor runs the tries (its interpreter is checked
        # now: a missing or wrong one stops the start with a message).
        self.airflow = None
        if settings.task_runner == "airflow":
            from ..runner.airflow_runner import AirflowTaskRunner

            self.airflow = AirflowTaskRunner(settings)
            self.airflow.add_listener(self._on_forkserver_event)
            log.info("Tasks run with Airflow %s's task runner (%s)", self.airflow.version, settings.airflow_python)

    def running(self) -> list[dict]:
        """The workloads whose process has not ended yet."""
        with self._lock:
            return list(self._running.values())

    def free_slots(self) -> int:
        if not self.forkserver.up.is_set():
            return 0  # being replaced: nothing is handed out until it runs again
        with self._lock:
            return max(self.parallelism - len(self._running), 0)

    @property
    def problem(self) -> str | None:
        """Why this executor cannot run tasks now (health), or None."""
        return self.forkserver.down_reason

    @staticmethod
    def job_id(ti_id: str, try_number: int, attempt: str | None = None) -> str:
        # One job per try: a retry of the same task instance must never be mistaken for the try before it.
        return f"{ti_id}#{try_number}" + (f"@{attempt}" if attempt else "")

    def submit(self, workload: dict, attempt: str | None = None) -> None:
        """Run an `ExecuteTask` workload (executors/workload.py). A rescheduled sensor or a resumed deferral
        runs the same try again: `attempt` (its queued time) tells them apart."""
        ti = workload["ti"]
        job = self.job_id(ti["id"], ti["try_number"], attempt)
        with self._lock:
            self._running[job] = {"ti_id": ti["id"], "try_number": ti["try_number"], "attempt": attempt,
                                  "log_key": log_key(workload)}
        if self.log_shipper is not None:
            self.log_shipper.follow(log_key(workload), log_file(self.settings, workload))
        if self.airflow is not None:
            self.airflow.submit(job, workload)
        else:
            self.forkserver.submit(job, "task", self._runner_job(workload))

    def _runner_job(self, workload: dict) -> dict:
        """What Leoflow's runner (runner/run.py) gets: the workload, and where things are on this machine."""
        settings = self.settings
        # `fileloc` also sends the job to the fork-server template that imported that file
        return {"workload": workload, "fileloc": os.path.join(settings.dags_folder, workload["dag_rel_path"]),
                "logs_folder": str(settings.logs_folder), "api_url": settings.execution_api_url,
                "api_ca_file": settings.execution_api_ca_file, "api_ca_pinned": settings.execution_api_ca_pinned,
                "heartbeat_interval": settings.task_heartbeat_interval}

    def kill(self, ti_id: str, try_number: int, reason: str | None = None, sig: int = signal.SIGKILL) -> bool:
        """End a try's process (and what it started), e.g. a zombie that stopped heart-beating.

        True when a process of that try runs here: its exit, reported once it and all it started are
        gone, carries `reason`. SIGTERM instead lets the task end itself (its operator's on_kill).
        """
        prefix = self.job_id(ti_id, try_number)
        with self._lock:
            jobs = [j for j in self._running if j == prefix or j.startswith(prefix + "@")]
            if reason:
                self._ending.update((job, reason) for job in jobs)
        for job in jobs or [prefix]:
            if self.airflow is not None:
                self.airflow.kill(job)  # its keeper gives the task SIGTERM, then SIGKILL
            else:
                self.forkserver.kill(job, sig)
        return bool(jobs)

    @staticmethod
    def end_leftovers(sessions: dict[int, float | None], timeout: float = 10.0) -> list[int]:
        """End what tries of a previous Leoflow process left running on this machine: each task led its
        own session (session id = its pid -> the earliest time its processes can have started).
        The pids still alive after `timeout`."""
        return proctree.end_sessions(sessions, timeout=timeout)

    def drain_exits(self) -> list[dict]:
        """Workloads whose process has ended, with `exit_code` and, when Leoflow ended it, `reason`:
        the scheduler checks their state was reported."""
        with self._lock:
            exits, self._exits = self._exits, []
        return exits

    def _on_forkserver_event(self, event: dict) -> None:
        if event.get("event") != "exited":
            return
        with self._lock:
            workload = self._running.pop(event["id"], None)
            if workload is None:
                return
            reason = self._ending.pop(event["id"], None) or event.get("reason")
            self._exits.append({**workload, "exit_code": event["code"], "reason": reason})
        if self.log_shipper is not None:
            self.log_shipper.finished(workload["log_key"])
        self.on_event()
