"""The local executor: every task instance runs as a child of the fork server on this machine."""

from __future__ import annotations

import logging
import os
import threading

from .forkserver import ForkServer

log = logging.getLogger(__name__)


class LocalExecutor:
    name = "LocalExecutor"

    def __init__(self, forkserver: ForkServer, parallelism: int, settings):
        self.forkserver = forkserver
        self.parallelism = parallelism
        self.settings = settings
        self._lock = threading.Lock()
        self._running: dict[str, dict] = {}  # job id (one per try) -> workload
        self._exits: list[dict] = []
        self.on_event = lambda: None  # set by the scheduler: wake up
        forkserver.add_listener(self._on_forkserver_event)
        # LEOFLOW_TASK_RUNNER=airflow: Airflow's own supervisor runs the tries (its interpreter is checked
        # now: a missing or wrong one stops the start with a message).
        self.airflow = None
        if settings.task_runner == "airflow":
            from ..runner.airflow_runner import AirflowTaskRunner

            self.airflow = AirflowTaskRunner(settings)
            self.airflow.add_listener(self._on_forkserver_event)
            log.info("Tasks run with Airflow %s's task runner (%s)", self.airflow.version, settings.airflow_python)

    def free_slots(self) -> int:
        with self._lock:
            return max(self.parallelism - len(self._running), 0)

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
            self._running[job] = {"ti_id": ti["id"], "try_number": ti["try_number"], "attempt": attempt}
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
                "heartbeat_interval": settings.task_heartbeat_interval}

    def kill(self, ti_id: str, try_number: int) -> None:
        """End a try's process (and its process group), e.g. a zombie that stopped heart-beating."""
        prefix = self.job_id(ti_id, try_number)
        with self._lock:
            jobs = [j for j in self._running if j == prefix or j.startswith(prefix + "@")] or [prefix]
        for job in jobs:
            (self.airflow or self.forkserver).kill(job)

    def drain_exits(self) -> list[dict]:
        """Tries whose process has ended (`ti_id`, `try_number`, `attempt`, `exit_code`): the scheduler
        checks their state was reported."""
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
            self._exits.append({**workload, "exit_code": event["code"]})
        self.on_event()
