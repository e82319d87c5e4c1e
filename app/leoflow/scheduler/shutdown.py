"""Stopping gracefully (lite's SIGTERM/SIGINT): no new try starts, the running ones get a grace period to
finish (they report through the Execution API, which keeps serving), then the rest are stopped and
recorded failed or up for retry, so nothing is left queued or running until the next start."""

from __future__ import annotations

import logging
import signal
import threading
import time

from ..store import tis
from . import try_log

log = logging.getLogger(__name__)

TERM_SECONDS = 5.0  # after SIGTERM a try may end itself (its operator's on_kill), then it is killed
EXIT_SECONDS = 5.0  # killed tries' exits are reported once all they started is gone: normally at once

ENDED_REASON = "Leoflow shut down before the try finished"


def drain(scheduler, grace: float, hurry: threading.Event) -> None:
    """Return once nothing this scheduler handed out runs any more. `hurry` (a second signal) skips the
    rest of the grace period and the tries' own clean-up."""
    executor = scheduler.executor
    scheduler.queueing = False
    for each in executor:  # tries that outlive this process (pods): the next leader adopts them
        if hasattr(each, "detach"):
            each.detach()
    running = executor.running()
    if running and not hurry.is_set():
        log.info("Stopping: no new task starts; waiting up to %gs for %d running task(s) to finish "
                 "(LEOFLOW_SHUTDOWN_GRACE_PERIOD; stop again to end them now)", grace, len(running))
        _wait_until_idle(executor, grace, hurry)
    left = executor.running()
    if not left:
        return
    if hurry.is_set():
        reason = "Leoflow was told to stop at once, before the try finished"
    else:
        reason = (f"Leoflow is shutting down and the try did not finish within the {grace:g}s grace period "
                  "(LEOFLOW_SHUTDOWN_GRACE_PERIOD)")
    log.warning("Stopping %d task(s) still running: %s", len(left), reason)
    logs = scheduler.services.settings.logs_folder
    with scheduler.services.engine.connect() as conn:  # where each try's log is: its task instance's ids
        rows = [tis.get_ti(conn, workload["ti_id"]) for workload in left]
    for workload, row in zip(left, rows):
        if row is not None and row.try_number == workload["try_number"]:
            try_log.write(logs, row, f"{reason}; terminating it")
    if not hurry.is_set():
        for workload in left:  # as Airflow: SIGTERM first, so the task's on_kill stops what it started
            executor.kill(workload["ti_id"], workload["try_number"], ENDED_REASON, signal.SIGTERM)
        _wait_until_idle(executor, TERM_SECONDS, hurry)
    for workload in executor.running():
        executor.kill(workload["ti_id"], workload["try_number"], ENDED_REASON, signal.SIGKILL)
    _wait_until_idle(executor, EXIT_SECONDS, None)


def finish(scheduler, thread: threading.Thread | None) -> None:
    """Stop the scheduler's thread, then record what is left of its tries (call once nothing runs)."""
    scheduler.queueing = False
    scheduler.stop.set()
    scheduler.services.bus.notify_scheduler(kind="stop")
    if thread is not None:
        thread.join(10)
    scheduler._handle_executor_exits()  # the exits its thread did not get to
    scheduler.record_unfinished(ENDED_REASON)


def _wait_until_idle(executor, seconds: float, hurry: threading.Event | None) -> None:
    deadline = time.monotonic() + seconds
    while executor.running() and time.monotonic() < deadline:
        if hurry is not None and hurry.is_set():
            return
        time.sleep(0.05)
