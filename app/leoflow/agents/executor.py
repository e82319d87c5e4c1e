"""The scheduler's `agent` executor: a queued try becomes a row of the agents' job table.

Agents on other hosts claim the rows (agents/api.py); this side only writes jobs, asks for
cancellations and takes the exits agents reported. Everything lives in the database, so a new leader
picks the table up as it is, and any replica may take the exits (each once, under a row lock).
The tries on agents are not this process's: a stopping server neither waits for them nor ends them.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import threading
import time

from ..store import agents as store, tis
from ..store.types import utcnow
from . import wakeup
from . import bundles
from .bundles import BundleTooBig

log = logging.getLogger(__name__)

CAPACITY_TTL = 0.2  # free slots are read from the job table at most this often
SWEEP_INTERVAL = 1.0  # expired claims and silent agents are looked for this often
RECORDED_KEEP = dt.timedelta(hours=1)


class AgentExecutor:
    name = "AgentExecutor"
    outlives_scheduler = True  # its tries keep running on their agents when this process stops

    def __init__(self, services):
        self.services = services
        self.engine = services.engine
        self.settings = services.settings
        # New runs in this process record the DAG folder's bundle; their tries run it (bundle_version).
        self.publisher = bundles.publish_for_runs(services.engine, services.settings.dags_folder)
        self.on_event = lambda: None
        self.problem = None
        self._lock = threading.Lock()
        self._capacity = 0
        self._capacity_at = float("-inf")
        self._last_sweep = float("-inf")
        self._last_forget = time.monotonic()
        self._started = time.monotonic()
        self._swept_at = self._started  # the last sweep that reached the database

    @staticmethod
    def job_id(ti_id: str, try_number: int, attempt: str | None = None) -> str:
        return f"{ti_id}#{try_number}" + (f"@{attempt}" if attempt else "")

    def _heard_since(self) -> dt.datetime:
        return utcnow() - dt.timedelta(seconds=self.settings.zombie_threshold)

    def free_slots(self) -> int:
        with self._lock:
            if time.monotonic() - self._capacity_at > CAPACITY_TTL:
                try:
                    with self.engine.connect() as conn:
                        self._capacity = store.capacity(conn, self._heard_since())
                except Exception:  # noqa: BLE001 - the database is away: hand nothing out
                    self._capacity = 0
                self._capacity_at = time.monotonic()
            return self._capacity

    def running(self) -> list[dict]:
        return []  # see the module's docstring: agents' tries are not this process's to wait for or end

    def bundle_version(self, conn, ti) -> str | None:
        """The bundle the try's run runs with: recorded at the run's creation, or else now (the folder as it
        is), for all its later tries too. None when the folder cannot be published."""
        sha = bundles.run_bundle(conn, ti.dag_id, ti.run_id)  # one read by the run's unique key: not cached,
        if sha is not None:  # a clear "on the latest version" resets it
            return sha
        try:
            return bundles.record_run_bundle(conn, ti.dag_id, ti.run_id, self.publisher.current(conn))
        except (BundleTooBig, OSError) as exc:
            log.error("Cannot publish the DAG bundle: %s", exc)
            return None

    def submit(self, workload: dict, attempt: str | None = None) -> None:
        ti = workload["ti"]
        sha = (workload.get("bundle_info") or {}).get("version")
        if not (isinstance(sha, str) and bundles.SHA256.match(sha)):
            try:  # a workload made without its run's bundle: the folder as it is now
                sha = self.publisher.current()
            except (BundleTooBig, OSError) as exc:
                log.error("Cannot publish the DAG bundle: %s", exc)
                sha = None
        if sha:
            workload = {**workload, "bundle_info": {**workload.get("bundle_info", {}), "version": sha}}
        job = self.job_id(ti["id"], ti["try_number"], attempt)
        with self.engine.begin() as conn:
            store.enqueue(conn, job, ti_id=ti["id"], try_number=ti["try_number"], attempt=attempt,
                          queue=ti.get("queue") or "default", workload=workload, bundle_sha=sha)
            if sha is None:  # nothing to run it with: it ends at once, its exit says why
                store.cancel(conn, ti["id"], ti["try_number"], "the DAG folder could not be published as a bundle")
        with self._lock:
            self._capacity = max(self._capacity - 1, 0)
        wakeup.work_arrived(self.services.bus)

    def kill(self, ti_id: str, try_number: int, reason: str | None = None, sig: int = signal.SIGKILL) -> bool:
        """Ask the agent holding the try to end it (or end a job not claimed yet); True when the try has a
        live job here. Its exit, reported by the agent (or by the silent-agent check), carries `reason`."""
        with self.engine.begin() as conn:
            return store.cancel(conn, ti_id, try_number, reason or "the try was ended by Leoflow") > 0

    def drain_exits(self) -> list[dict]:
        self._sweep()
        with self.engine.begin() as conn:
            rows = store.take_exits(conn)
        return [{"ti_id": r.ti_id, "try_number": r.try_number, "attempt": r.attempt,
                 "exit_code": r.exit_code, "reason": r.reason} for r in rows]

    def _sweep(self) -> None:
        """Claims whose answer was lost go back to the queue; an agent silent past the zombie threshold
        loses its jobs (their tries are failed or retried; its late reports are refused)."""
        if time.monotonic() - self._last_sweep < SWEEP_INTERVAL:
            return
        self._last_sweep = time.monotonic()
        limit = self.settings.zombie_threshold
        poll = float(getattr(self.settings, "scheduler_poll_interval", 1.0) or 1.0)
        if self._last_sweep - self._swept_at > max(5.0, limit / 2, 3 * poll):
            # The database was away (or this scheduler stalled): agents' heartbeats were answered 503 and
            # could not be recorded meanwhile, so they get a zombie threshold from now, as after a start.
            self._started = self._last_sweep
        # Agents get a zombie threshold from this process's start to be heard from: when every server was
        # down (a restart) none could reach one, and their tries still run.
        judging = time.monotonic() - self._started > limit
        with self.engine.begin() as conn:
            requeued = store.requeue_expired_claims(conn)
            store.drop_stale_queued(conn)
            for name in store.silent_agents(conn, self._heard_since()) if judging else []:
                ended = store.end_jobs_of(conn, name, f"agent {name!r} sent no heartbeat for {limit:g} s (zombie)")
                log.warning("Agent %r is silent past the zombie threshold (%g s): %d of its tries end", name, limit,
                            ended)
            for ti_id in store.queued_without_job(conn, utcnow() - dt.timedelta(seconds=max(limit, 30))):
                tis.reset_to_scheduled(conn, ti_id)
                requeued += 1
            if time.monotonic() - self._last_forget > 600:
                store.forget_recorded(conn, utcnow() - RECORDED_KEEP)
                self._last_forget = time.monotonic()
        self._swept_at = time.monotonic()
        if requeued:
            log.info("%d claim(s) were not acknowledged in time: back on the queue", requeued)
            wakeup.work_arrived(self.services.bus)
