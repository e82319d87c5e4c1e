"""The triggerer: runs the triggers deferred task instances wait for, in one asyncio loop.

A daemon thread owns an event loop (started the first time a trigger is waiting). The scheduler
calls `sync()` each tick: triggers newly waiting in the database start, triggers nobody waits for
any more are cancelled, and deferrals past their timeout resume into failure. A trigger's first
event resumes its task instances (`scheduled` again, same try, `event` added to `next_kwargs`) and
wakes the scheduler; a trigger that crashes or ends without an event fails them, as in Airflow.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import threading
import time
import traceback

from ..store import triggers as trigger_store
from ..store.types import utcnow
from . import serde

log = logging.getLogger(__name__)


def build_trigger(classpath: str, kwargs: dict, dags_folder=None):
    """Import the trigger class and make it. An `airflow.*` path works through the import hook; a
    trigger module kept beside the DAG files or in the plugins folder is found there, as in Airflow."""
    import sys

    from ..sdk import importhook, plugins

    importhook.install()
    plugins.load()
    module_name, _, class_name = classpath.rpartition(".")
    if not module_name:
        raise ImportError(f"trigger classpath {classpath!r} is not module.Class")
    folder = str(dags_folder) if dags_folder else None
    if folder and folder not in sys.path:
        sys.path.append(folder)
    cls = getattr(importlib.import_module(module_name), class_name)
    return cls(**serde.decode(kwargs or {}))


def _not_held(now):
    from ..store.held_runs import held_clause
    from ..store.tables import task_instance

    return ~held_clause(now, task_instance.c.dag_id, task_instance.c.run_id)


class Triggerer:
    def __init__(self, services):
        self.services = services
        # Which deferred task instances are this triggerer's: those of every run but the ones a `dags test`
        # process holds (which runs their triggers itself), or only that process's run (`serve_only`).
        self.ti_filter = _not_held
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._running: dict[int, object] = {}  # trigger id -> concurrent future of its watcher
        self.fired = 0
        self._seen_generation = -1
        self._last_look = 0.0

    IDLE_LOOK_INTERVAL = 2.0  # with nothing deferred, look at the database this often (other processes)

    # --- called by the scheduler ------------------------------------------------------------

    def sync(self) -> set[tuple[str, str]]:
        """Start/cancel watchers to match the database; return runs whose task instances moved."""
        touched: set[tuple[str, str]] = set()
        mono = time.monotonic()
        if (self.running_count() == 0 and trigger_store.generation == self._seen_generation
                and mono - self._last_look < self.IDLE_LOOK_INTERVAL):
            if self._loop is not None:
                self.stop()  # nothing to wait for: no idle thread left behind
            return touched  # nothing deferred here since the last look: spare the scheduler a query
        self._seen_generation = trigger_store.generation
        self._last_look = mono
        with self.services.engine.begin() as conn:
            touched.update(trigger_store.time_out(conn, utcnow(), self.ti_filter))
            waiting = {row.id: row for row in trigger_store.waiting(conn, self.ti_filter)}
        with self._lock:
            new = [row for tid, row in waiting.items() if tid not in self._running]
            gone = [tid for tid in self._running if tid not in waiting]
        for tid in gone:
            with self._lock:
                future = self._running.pop(tid, None)
            if future is not None:
                future.cancel()
        if not new and not waiting and self._loop is not None and self.running_count() == 0:
            self.stop()  # nothing to wait for: no idle thread left behind
        if new:
            self._ensure_loop()
            for row in new:
                future = asyncio.run_coroutine_threadsafe(self._watch(row.id, row.classpath, row.kwargs), self._loop)
                with self._lock:
                    self._running[row.id] = future
        return touched

    def serve_only(self, dag_id: str, run_id: str) -> None:
        """Run the triggers of this one run's task instances, and no others (`leoflow dags test`)."""
        from sqlalchemy import and_

        from ..store.tables import task_instance

        self.ti_filter = lambda now: and_(task_instance.c.dag_id == dag_id, task_instance.c.run_id == run_id)

    def running_count(self) -> int:
        with self._lock:
            return len(self._running)

    def stop(self) -> None:
        """Cancel every watcher, let them finish, and end the loop thread."""
        loop = self._loop
        if loop is None:
            return
        with self._lock:
            self._running.clear()
        try:
            asyncio.run_coroutine_threadsafe(self._cancel_all(), loop).result(timeout=5)
        except Exception:
            log.warning("Triggers did not stop within 5s")
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=5)
        if not loop.is_running():
            loop.close()
        self._loop = None
        self._thread = None

    @staticmethod
    async def _cancel_all() -> None:
        current = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # --- the loop thread ----------------------------------------------------------------------

    def _ensure_loop(self) -> None:
        if self._loop is not None:
            return
        from .trigger_comms import install as install_comms

        install_comms(self.services)  # triggers' hooks read Connections and Variables, as in Airflow
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run():
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            loop.run_forever()

        self._thread = threading.Thread(target=run, daemon=True, name="leoflow-triggerer")
        self._thread.start()
        ready.wait(5)
        self._loop = loop

    async def _watch(self, trigger_id: int, classpath: str, kwargs: dict) -> None:
        trigger = None
        try:
            trigger = build_trigger(classpath, kwargs, getattr(self.services.settings, "dags_folder", None))
            async for event in trigger.run():
                end_state = getattr(event, "task_instance_state", None)
                if end_state in ("success", "failed", "skipped"):  # end_from_trigger: the task ends here
                    await asyncio.get_running_loop().run_in_executor(
                        None, self._end, trigger_id, end_state, getattr(event, "xcoms", None))
                    return
                payload = getattr(event, "payload", event)
                await asyncio.get_running_loop().run_in_executor(None, self._fire, trigger_id, payload)
                return
            await asyncio.get_running_loop().run_in_executor(
                None, self._fail, trigger_id, "Trigger exited without sending an event")
        except asyncio.CancelledError:
            raise
        except Exception:
            text = traceback.format_exc()
            log.warning("Trigger %s (%s) failed:\n%s", trigger_id, classpath, text)
            await asyncio.get_running_loop().run_in_executor(None, self._fail, trigger_id, text)
        finally:
            with self._lock:
                self._running.pop(trigger_id, None)
            cleanup = getattr(trigger, "cleanup", None)
            if cleanup is not None:
                try:
                    result = cleanup()
                    if asyncio.iscoroutine(result):
                        await result
                except Exception:
                    log.exception("Cleanup of trigger %s failed", trigger_id)

    def _fire(self, trigger_id: int, payload) -> None:
        with self.services.engine.begin() as conn:
            runs = trigger_store.fire(conn, trigger_id, serde.encode(payload))
            trigger_store.clean_unused(conn)
        self.fired += 1
        self._wake(runs)

    def _end(self, trigger_id: int, state: str, xcoms) -> None:
        with self.services.engine.begin() as conn:
            runs = trigger_store.end_tis(conn, trigger_id, state, serde.encode(xcoms) if xcoms else None)
            trigger_store.clean_unused(conn)
        self.fired += 1
        self._wake(runs)

    def _fail(self, trigger_id: int, error: str) -> None:
        with self.services.engine.begin() as conn:
            runs = trigger_store.fail_trigger(conn, trigger_id, error)
            trigger_store.clean_unused(conn)
        self._wake(runs)

    def _wake(self, runs) -> None:
        for dag_id, run_id in set(runs):
            self.services.bus.notify_scheduler(kind="trigger_event", dag_id=dag_id, run_id=run_id)
