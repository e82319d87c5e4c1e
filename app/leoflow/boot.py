"""The long-running parts `leoflow lite` and `leoflow server` both start, and how they stop.

`ControlPlane` owns the scheduler (with its executor and triggerer) and the DAG processor of one
process; which of them run is the process's `components`. Lite starts all of them on SQLite; a server
replica starts those its `--components` name, on Postgres, where the scheduler leads only while it
holds the lease (scheduler/leadership.py).
"""

from __future__ import annotations

import logging
import threading
import time

log = logging.getLogger("leoflow")

COMPONENTS = ("api", "scheduler", "dag-processor", "triggerer")


def parse_components(text: str | None) -> set[str]:
    """`api,scheduler,...` -> the set; every one when not given. A name not known is a clear error."""
    if not text:
        return set(COMPONENTS)
    chosen = {part.strip() for part in text.split(",") if part.strip()}
    unknown = sorted(chosen - set(COMPONENTS))
    if unknown:
        raise SystemExit(f"leoflow: --components: {', '.join(map(repr, unknown))} is not one of "
                         f"{', '.join(COMPONENTS)}")
    if not chosen:
        raise SystemExit(f"leoflow: --components names nothing; choose from {', '.join(COMPONENTS)}")
    return chosen


def thread(name: str, target) -> threading.Thread:
    """A daemon thread the OS knows by `name` too (top -H, py-spy, /proc/PID/task/*/comm)."""

    def run():
        try:
            import ctypes

            ctypes.CDLL(None).prctl(15, name.encode()[:15], 0, 0, 0)  # PR_SET_NAME: this thread only
        except Exception:
            pass
        target()

    return threading.Thread(target=run, name=name, daemon=True)


class TriggererService:
    """A server's triggerer: runs the deferred tasks' triggers while it holds the triggerer lease.

    (Lite's scheduler runs them itself.) Its job row (TriggererJob) is what health reports.
    """

    INTERVAL = 1.0

    def __init__(self, services):
        from .scheduler.leadership import leadership_for
        from .scheduler.triggerer import Triggerer
        from .store import jobs

        self.services = services
        self.triggerer = Triggerer(services)
        self.job_id = jobs.start_job(services.engine, "TriggererJob")
        self.leadership = leadership_for(services.engine, self.job_id, name="triggerer")
        self.stop = threading.Event()

    def run_forever(self) -> None:
        from .store import jobs

        last_beat = 0.0
        while not self.stop.wait(self.INTERVAL):
            try:
                if time.monotonic() - last_beat > 5:
                    jobs.heartbeat(self.services.engine, self.job_id)
                    last_beat = time.monotonic()
                if self.leadership.renew():
                    for dag_id, run_id in self.triggerer.sync():
                        self.services.bus.notify_scheduler(kind="trigger_event", dag_id=dag_id, run_id=run_id)
                elif self.triggerer.running_count():
                    self.triggerer.stop()
            except Exception:  # noqa: BLE001 - the database is away: try again next second
                log.warning("Triggerer pass failed; retrying", exc_info=True)
        self.triggerer.stop()
        self.leadership.release()


class ControlPlane:
    """The scheduler (with its executor and triggerer) and the DAG processor of one lite or server process.

    Order of use: `start_scheduler()` and `start_processor()` (before the API serves: health reads their
    job rows), `run()` once the API listens (tasks talk to the Execution API), `drain()` on a graceful
    stop while the API still serves, `close()` after it stopped.
    """

    def __init__(self, services, forkserver, components: set[str] = frozenset(COMPONENTS)):
        self.services = services
        self.forkserver = forkserver
        self.components = set(components)
        self.server = services.mode == "server"
        self.executor = None
        self.scheduler = None
        self.processor = None
        self.processor_job = None
        self.log_shipper = None
        self.triggerer = None
        self.threads: dict[str, threading.Thread] = {}

    # --- start --------------------------------------------------------------------------------

    def start_scheduler(self) -> None:
        if self.server and "triggerer" in self.components:
            self.triggerer = TriggererService(self.services)
        if "scheduler" not in self.components:
            return
        from .executors.registry import build_router
        from .scheduler.leadership import leadership_for
        from .scheduler.loop import Scheduler

        settings = self.services.settings
        self.executor = build_router(self.services, self.forkserver)
        self.forkserver.add_listener(self._show_in_health)
        if self.server:  # any replica serves a try's log, wherever it ran
            from .executors.log_shipping import LogShipper, database_sink, database_sink_many

            self.log_shipper = LogShipper(database_sink(self.services.engine),
                                          sink_many=database_sink_many(self.services.engine))
            for executor in self.executor:
                if hasattr(executor, "log_shipper"):
                    executor.log_shipper = self.log_shipper
        # A server's triggers run under their own lease (TriggererService); lite's scheduler runs them.
        scheduler = Scheduler(self.services, self.executor, token_secret=settings.secret("jwt-execution"),
                              run_triggers=not self.server)
        job_id = scheduler.start_job()
        scheduler.leadership = leadership_for(self.services.engine, job_id)
        for executor in self.executor:  # executors that act on shared things (pods) act only while leading
            if hasattr(executor, "leadership"):
                executor.leadership = scheduler.leadership
        self.scheduler = scheduler
        if not self.server:  # lite holds its home's lock: what another job left active is an orphan
            scheduler.recover_orphans()

    def start_processor(self) -> None:
        if "dag-processor" not in self.components:
            return
        from .dagproc.processor import DagProcessor, forkserver_parser
        from .store import jobs

        self.processor = DagProcessor(self.services, forkserver_parser(self.forkserver),
                                      paused_by_default=self.services.settings.extra.get(
                                          "dags_are_paused_at_creation", False))
        self.processor_job = jobs.start_job(self.services.engine, "DagProcessorJob")
        if self.server:  # replicas share the folder: one parses at a time
            from .scheduler.leadership import leadership_for

            self.processor.leadership = leadership_for(self.services.engine, self.processor_job,
                                                       name="dag-processor")

    def run(self) -> None:
        """Start the loops (once the API serves: tasks talk to the Execution API)."""
        from .store import jobs

        if self.scheduler is not None:
            self.threads["scheduler"] = thread("scheduler", self.scheduler.run_forever)
        if self.triggerer is not None:
            self.threads["triggerer"] = thread("triggerer", self.triggerer.run_forever)
        if self.processor is not None:
            processor, job_id, engine = self.processor, self.processor_job, self.services.engine

            def heartbeat_processor():
                while not processor.stop.wait(5):
                    try:
                        jobs.heartbeat(engine, job_id)
                    except Exception:  # noqa: BLE001 - the database is away; health shows it
                        log.warning("DAG processor heartbeat failed", exc_info=True)

            self.threads["dag-processor"] = thread("dag-processor", processor.run_forever)
            self.threads["heartbeat"] = thread("heartbeat", heartbeat_processor)
        for t in self.threads.values():
            t.start()

    def _show_in_health(self, event: dict) -> None:
        """While the fork server is being replaced, this process cannot run tasks: health says so."""
        if event.get("event") == "forkserver_down":
            self.services.problems["scheduler"] = f"cannot run tasks: {event['reason']}; a new one is starting"
        elif event.get("event") == "forkserver_up":
            self.services.problems.pop("scheduler", None)

    # --- stop ---------------------------------------------------------------------------------

    def drain(self, grace: float, hurry: threading.Event) -> None:
        """A graceful stop, while the API still serves: no new work here, running tries get `grace`
        seconds (`hurry`, a second signal, cuts it short), then they are ended.

        A server hands scheduling over first (its lease ended at once, not left to expire); lite's
        scheduler keeps deciding meanwhile, so the runs of tries that finish move on.
        """
        from .scheduler import shutdown

        self.services.stopping.set()
        if self.processor is not None:
            self.processor.stop.set()
            self.processor.wake.set()
            if self.processor.leadership is not None:
                self.processor.leadership.release()
        if self.triggerer is not None:
            self.triggerer.stop.set()
            self._join("triggerer")
        if self.scheduler is None:
            return
        if self.server:
            self.scheduler.queueing = False
            self.scheduler.stop.set()
            self._join("scheduler")
            self.scheduler.leadership.release()
            self.scheduler.triggerer.stop()
        shutdown.drain(self.scheduler, grace, hurry)

    def close(self) -> None:
        """After the API stopped: end what still runs, record what is left of this process's tries, end
        its job rows."""
        from .scheduler import shutdown
        from .store import jobs

        engine = self.services.engine
        for part in (self.processor, self.triggerer):
            if part is not None:
                part.stop.set()
        if self.processor is not None:
            self.processor.wake.set()
        if self.scheduler is not None:
            self.scheduler.queueing = False
            self.scheduler.stop.set()
        if self.forkserver is not None:
            self.forkserver.stop()  # ends whatever still runs (nothing, after a drain)
        if self.scheduler is not None and self.scheduler.job_id is not None:
            try:
                shutdown.finish(self.scheduler, self.threads.get("scheduler"))
            except Exception:  # noqa: BLE001 - the database may be away; the zombie check catches up
                log.exception("Could not record the tasks left unfinished")
        if self.log_shipper is not None:
            self.log_shipper.stop()
        try:
            if self.scheduler is not None and self.scheduler.job_id is not None:
                jobs.end_job(engine, self.scheduler.job_id)
            if self.processor_job is not None:
                jobs.end_job(engine, self.processor_job)
            if self.triggerer is not None:
                jobs.end_job(engine, self.triggerer.job_id)
        except Exception:  # noqa: BLE001
            log.warning("Could not end the job rows", exc_info=True)

    def _join(self, name: str) -> None:
        t = self.threads.get(name)
        if t is not None:
            t.join(10)
