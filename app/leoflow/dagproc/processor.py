"""The DAG processor: keep the database in step with the DAG folder.

Each pass lists the folder and starts parses, each in a child with a timeout and
at most `PARSE_WORKERS` at once: first the files a user asked for (PUT
parseDagFile), then new and changed files, then files left unparsed for
`min_file_process_interval` (so a deleted DAG comes back and a file that failed
on a missing Variable recovers; those re-parses go one at a time, spread out).
Each result is stored as soon as it arrives, so a slow or hanging file holds up
only its own worker. A DAG is stored as a new version only when its serialized
form changed; a file that fails becomes an import error; a deleted file's DAGs
become stale. A folder watcher, a finished parse and a parse request wake the
loop at once; a periodic scan catches what the watcher misses.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import queue
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from .. import metrics
from ..bus.bus import DAG_PROCESSOR_QUEUE
from ..scheduler import timetables
from ..services import Services
from ..store import assets as asset_store, dags as dag_store, parse_requests
from ..store.tables import dag_run
from ..store.types import utcnow

log = logging.getLogger(__name__)

LEASE_RENEW_INTERVAL = 1.0  # a server's processor renews its lease this often (it lasts leadership.LEASE_SECONDS)
PARSE_WORKERS = 4  # files parsed at once by child processes; results are stored one at a time
PERIODIC_WORKERS = 1  # of those, re-parses of unchanged files: one after another, the rest stay free for changes
RETRY_AFTER_FAILURE = 5.0  # seconds before a file whose parse could not run (not an import error) is tried again
REQUEST_POLL = 5.0  # parse requests are read at least this often, in case their wake-up was lost


def list_dag_files(folder: Path) -> dict[str, tuple[float, int]]:
    """Every .py file under the folder with (mtime, size); hidden and cache folders skipped."""
    found: dict[str, tuple[float, int]] = {}
    if not folder.is_dir():
        return found
    for root, dirs, files in os.walk(folder, followlinks=True):
        dirs[:] = [d for d in dirs if not d.startswith((".", "__pycache__"))]
        for name in files:
            if name.endswith(".py") and not name.startswith("."):
                path = os.path.join(root, name)
                try:
                    st = os.stat(path)
                except OSError:
                    continue
                found[path] = (st.st_mtime, st.st_size)
    return found


def might_define_dags(path: str) -> bool:
    """Airflow's safe mode: only files mentioning both 'airflow' and 'dag' are imported."""
    try:
        with open(path, "rb") as f:
            head = f.read().lower()
    except OSError:
        return False
    return b"airflow" in head and b"dag" in head


@dataclass
class _Parse:
    """A parse under way in a worker thread."""
    path: str
    signature: tuple[float, int]  # the file's (mtime, size) when it started
    periodic: bool  # a re-parse of an unchanged file
    result: dict | None = None
    failure: BaseException | None = None


class DagProcessor:
    def __init__(self, services: Services, parse, *, paused_by_default: bool):
        """`parse(path, timeout) -> dict` parses one file (in a child) and returns its result."""
        self.services = services
        self.folder = services.settings.dags_folder
        self.parse = parse
        self.paused_by_default = paused_by_default
        self.seen: dict[str, tuple[float, int]] = {}  # file -> its (mtime, size) at its last parse
        self.due: dict[str, float] = {}  # file -> when (monotonic) it is parsed again though unchanged
        self.requested: set[str] = set()  # files asked for (PUT parseDagFile), not started yet
        self.running: dict[str, _Parse] = {}
        self.finished: queue.SimpleQueue[_Parse] = queue.SimpleQueue()
        # file -> digest of its last stored result: an identical re-parse writes almost nothing, logs nothing
        # and wakes no one
        self.results: dict[str, str] = {}
        self.wake = threading.Event()
        self.stop = threading.Event()
        self.parse_count = 0
        self._workers = PARSE_WORKERS if getattr(parse, "concurrent", False) else 0
        self._files_touched = False  # the watcher saw the folder change (let a burst of writes settle)
        self._requests_waiting = True  # read the parse requests on the first pass
        self._requests_read = -math.inf
        self._listing: dict[str, tuple[float, int]] | None = None  # the folder as last listed
        self._periodic_not_before = -math.inf  # when the next re-parse of an unchanged file may start
        # Several server replicas share the folder and the database: the one holding the lease parses
        # (scheduler/leadership.py). None: the only processor (lite, `dags test`).
        self.leadership = None
        self._renewed = -math.inf
        attach = getattr(parse, "attach", None)
        if attach is not None:  # parse-time store reads and the children's limits (see forkserver_parser)
            attach(services)

    # --- one pass ---------------------------------------------------------

    def step(self, *, ongoing: bool = True, relist: bool = True) -> list[str]:
        """Store the parses that finished, then start what is due; return the files started (or parsed,
        when the parser runs here). `ongoing`: the long-running loop's pass, which also takes parse
        requests and re-parses unchanged files whose interval passed. `relist`: list the folder again
        (else the last listing stands: a pass woken by a finished parse need not walk the folder)."""
        self._store_finished()
        if relist or self._listing is None:
            self._listing = list_dag_files(self.folder)
        now_files = self._listing
        if ongoing:
            self._take_requests(now_files)
        for path in [p for p in self.seen if p not in now_files and p not in self.running]:
            self.forget_file(path)
        started = []
        for path, again in self._wanted(now_files, periodic=ongoing):
            if self._workers and len(self.running) >= self._workers:
                break
            if again and not self._periodic_lane_free():
                continue
            if again:  # spread the re-parses over the interval instead of all of them at once
                spacing = self.services.settings.min_file_process_interval / max(len(now_files), 1)
                self._periodic_not_before = time.monotonic() + spacing
            self.requested.discard(path)
            self._start(path, now_files[path], again)
            started.append(path)
        return started

    def _periodic_lane_free(self) -> bool:
        return (sum(p.periodic for p in self.running.values()) < PERIODIC_WORKERS
                and time.monotonic() >= self._periodic_not_before)

    def refresh(self) -> list[str]:
        """Parse every new, changed or requested file and store the results; return those files.

        For one-shot commands and tests; the long-running loop is run_forever."""
        parsed: list[str] = []
        while True:
            self.wake.clear()
            parsed += self.step(ongoing=False, relist=not parsed)
            if not self.running:
                return parsed
            self.wake.wait(1.0)

    def _wanted(self, now_files: dict, *, periodic: bool):
        """(file, is a periodic re-parse) in the order to start them: requested, then new or changed
        (newest first), then unchanged files by how long their re-parse is overdue."""
        idle = [p for p in now_files if p not in self.running]
        for path in sorted(p for p in idle if p in self.requested):
            yield path, False
        changed = [p for p in idle if self.seen.get(p) != now_files[p] and p not in self.requested]
        for path in sorted(changed, key=lambda p: (-now_files[p][0], p)):
            yield path, False
        if periodic:
            now = time.monotonic()
            overdue = [p for p in idle if p in self.seen and self.seen[p] == now_files[p]
                       and p not in self.requested and self.due.get(p, now) <= now]
            for path in sorted(overdue, key=lambda p: self.due.get(p, now)):
                yield path, True

    def _start(self, path: str, signature: tuple[float, int], periodic: bool) -> None:
        job = _Parse(path, signature, periodic)
        if not might_define_dags(path):  # nothing to import: no child needed
            job.result = None
            self._finish(job)
            return
        if not self._workers:  # the in-process parser: here and now
            self._run(job, notify=False)
            self._finish(job)
            return
        self.running[path] = job
        threading.Thread(target=self._run, args=(job,), daemon=True, name="dag-parse").start()

    def _run(self, job: _Parse, notify: bool = True) -> None:
        started = time.perf_counter()
        try:
            job.result = self.parse(job.path, self.services.settings.parse_timeout)
        except BaseException as exc:  # the parser itself failed (not the file): tried again later
            job.failure = exc
        metrics.dag_file_parsed(time.perf_counter() - started)
        if notify:
            self.finished.put(job)
            self.wake.set()

    def _store_finished(self) -> None:
        while True:
            try:
                job = self.finished.get_nowait()
            except queue.Empty:
                return
            self.running.pop(job.path, None)
            self._finish(job)

    def _finish(self, job: _Parse) -> None:
        """Store one parse's result and note when the file is due again."""
        self.seen[job.path] = job.signature
        if job.failure is not None:
            log.error("Could not parse %s; trying again in %.0fs", job.path, RETRY_AFTER_FAILURE,
                      exc_info=job.failure)
            self.due[job.path] = time.monotonic() + RETRY_AFTER_FAILURE
            return
        try:
            if job.result is None:  # not a DAG file: nothing in it can come back by parsing it again
                self.forget_file(job.path, keep_seen=True)
                self.due[job.path] = math.inf
                return
            self.store_result(job.path, job.result)
        except Exception:
            log.exception("Could not store the parse of %s; trying again in %.0fs", job.path, RETRY_AFTER_FAILURE)
            self.due[job.path] = time.monotonic() + RETRY_AFTER_FAILURE
            return
        self.due[job.path] = time.monotonic() + self.services.settings.min_file_process_interval

    def _take_requests(self, now_files: dict) -> None:
        """Files asked to be parsed again (PUT parseDagFile): read when woken for them, and every few seconds."""
        now = time.monotonic()
        if not self._requests_waiting and now - self._requests_read < REQUEST_POLL:
            return
        self._requests_waiting, self._requests_read = False, now
        with self.services.engine.begin() as conn:
            relatives = parse_requests.take(conn, dag_store.BUNDLE)
        for relative in relatives:
            path = os.path.normpath(os.path.join(self.folder, relative))
            if path in now_files:  # only files of the folder, whatever the request says
                self.requested.add(path)
            else:
                log.warning("Parse request for %s ignored: no such DAG file in %s", relative, self.folder)

    def initial_sync(self) -> None:
        """On start: files the database knows but the folder lost are forgotten."""
        with self.services.engine.connect() as conn:
            known = dag_store.known_filelocs(conn)
        present = list_dag_files(self.folder)
        for path in known - set(present):
            if path:
                self.forget_file(path)

    def process_file(self, path: str) -> None:
        """Parse one file here and now and store the result (one-shot commands: `dags test`)."""
        if not might_define_dags(path):
            self.forget_file(path)
            return
        self.store_result(path, self.parse(path, self.services.settings.parse_timeout))

    def store_result(self, path: str, result: dict) -> bool:
        """Write one file's parse result; True if the database changed in a way the scheduler cares about."""
        self.parse_count += 1
        digest = hashlib.sha256(json.dumps(result, sort_keys=True, default=str).encode()).hexdigest()
        news = self.results.get(path) != digest
        relative = os.path.relpath(path, self.folder)
        changed = news
        with self.services.engine.begin() as conn:
            if not news and self._still_stored(conn, path, result):
                return False  # what the last parse stored is still there: only the parse time moved
            self.results.pop(path, None)  # set again once this transaction committed
            if result.get("error"):
                if news:  # a periodic re-parse of the same broken file logs nothing new
                    log.warning("Import error in %s:\n%s", path, result["error"])
                dag_store.set_import_error(conn, path, result["error"])
            else:
                dag_store.clear_import_error(conn, path)
                try:
                    source = Path(path).read_text(encoding="utf-8", errors="replace")
                except OSError:
                    source = ""
                ids = set()
                for data in result["dags"]:
                    ids.add(data["dag_id"])
                    synced = dag_store.sync_dag(conn, data, source_code=source, relative_fileloc=relative,
                                                paused_by_default=self.paused_by_default)
                    # Assets on every stored parse: which one of a shared name/uri is active depends on what
                    # else exists.
                    asset_store.sync_dag_assets(conn, data)
                    if synced.changed:
                        self._plan_next_run(conn, data)
                        changed = True
                gone = dag_store.mark_stale(conn, path, ids)
                asset_store.drop_dag_references(conn, gone)
                changed = changed or bool(gone)
        self.results[path] = digest
        if changed:
            self.services.bus.notify_scheduler(kind="dags_changed", path=path)
        return changed

    @staticmethod
    def _still_stored(conn, path: str, result: dict) -> bool:
        """Whether the database still shows this file as its last (identical) result left it: a DAG deleted
        over the API, or an import error removed with it, is written again by the full path."""
        if result.get("error"):
            return dag_store.touch_import_error(conn, path)
        return dag_store.touch_parsed(conn, path, {d["dag_id"] for d in result["dags"]})

    def forget_file(self, path: str, *, keep_seen: bool = False) -> None:
        with self.services.engine.begin() as conn:
            dag_store.clear_import_error(conn, path)
            asset_store.drop_dag_references(conn, dag_store.mark_stale(conn, path, set()))
        self.results.pop(path, None)
        if not keep_seen:
            self.seen.pop(path, None)
            self.due.pop(path, None)
            self.requested.discard(path)

    def _plan_next_run(self, conn, data: dict) -> None:
        last = conn.execute(select(func.max(dag_run.c.logical_date)).where(
            dag_run.c.dag_id == data["dag_id"], dag_run.c.run_type == "scheduled")).scalar()
        dag_store.set_next_run(conn, data["dag_id"], timetables.next_run(data, last, utcnow()))

    # --- the loop -----------------------------------------------------------

    def run_forever(self) -> None:
        observer = self._watch()
        poll = self.services.settings.dag_dir_poll_interval
        # With a working watcher the scan is only a safety net.
        interval = max(poll, 5.0) if observer else poll
        threading.Thread(target=self._listen_for_requests, daemon=True, name="dag-parse-requests").start()
        try:
            if self.leadership is None:  # (a leased processor syncs when it takes the lease)
                self.initial_sync()
            listed = -math.inf
            while not self.stop.is_set():
                if self.leadership is not None and not self._lead():
                    self.stop.wait(LEASE_RENEW_INTERVAL)  # a standby: another replica's processor parses
                    continue
                self.wake.clear()  # before reading the flag: an event after this sets both again
                touched, self._files_touched = self._files_touched, False
                if touched:
                    self._settle(0.05)
                relist = touched or time.monotonic() - listed >= interval
                if relist:
                    listed = time.monotonic()
                try:
                    self.step(relist=relist)
                except Exception:
                    log.exception("DAG folder scan failed; retrying")
                pause = self._until_next_pass(max(0.0, listed + interval - time.monotonic()))
                if self.leadership is not None:
                    pause = min(pause, LEASE_RENEW_INTERVAL)  # back in time to renew the lease
                self.wake.wait(pause)
                self._store_finished()  # publish what finished at once, before any settling above
        finally:
            if observer:
                observer.stop()

    def _lead(self) -> bool:
        """Renew (or take) the processor's lease when due; on taking it, look at every file afresh."""
        was = self.leadership.is_leader
        if was and time.monotonic() - self._renewed < LEASE_RENEW_INTERVAL:
            return True
        leading = self.leadership.renew()
        self._renewed = time.monotonic()
        if leading and not was:
            self.seen.clear()
            self.results.clear()
            self._requests_waiting = True
            self.initial_sync()
        return leading

    def _settle(self, seconds: float) -> None:
        """Let a burst of writes to one file settle; a parse finishing meanwhile is stored at once."""
        deadline = time.monotonic() + seconds
        while not self.stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self.wake.wait(left)
            self.wake.clear()  # the flags say why it was set; the pass after the settling reads them
            self._store_finished()

    def _until_next_pass(self, scan_interval: float) -> float:
        """Sleep until the next scan, or until an unchanged file is due again if a worker could take it
        (a finished parse wakes the loop anyway)."""
        if self._workers and len(self.running) >= self._workers:
            return scan_interval
        if sum(p.periodic for p in self.running.values()) >= PERIODIC_WORKERS:
            return scan_interval
        waiting = [due for path, due in self.due.items() if path not in self.running]
        if not waiting:
            return scan_interval
        soonest = max(min(waiting), self._periodic_not_before)
        return max(0.0, min(scan_interval, soonest - time.monotonic()))

    def _listen_for_requests(self) -> None:
        """Wake the loop as soon as the API stores a parse request (the bus carries the wake-up only)."""
        while not self.stop.is_set():
            if self.services.bus.wait(DAG_PROCESSOR_QUEUE, 5.0):
                self._requests_waiting = True
                self.wake.set()

    def _watch(self):
        try:
            from watchdog.events import FileSystemEventHandler
            from watchdog.observers import Observer
        except ImportError:
            return None
        processor = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event):
                processor._files_touched = True
                processor.wake.set()

        self.folder.mkdir(parents=True, exist_ok=True)
        observer = Observer()
        try:
            observer.schedule(Handler(), str(self.folder), recursive=True)
            observer.daemon = True
            observer.start()
        except Exception as exc:
            log.warning("Cannot watch %s (%s); scanning it every %.1fs instead", self.folder, exc,
                        self.services.settings.dag_dir_poll_interval)
            return None
        return observer


def forkserver_parser(forkserver):
    """Parse files in children of the fork server, each with a timeout and a memory cap."""
    from .parse import memory_limit_message, write_limits

    pending: dict[str, threading.Event] = {}
    codes: dict[str, int] = {}
    lock = threading.Lock()
    limits = {"memory_limit_mib": 0}

    def on_event(event: dict) -> None:
        if event.get("event") == "exited":
            with lock:
                done = pending.get(event["id"])
                codes[event["id"]] = event["code"]
            if done:
                done.set()

    forkserver.add_listener(on_event)
    workdir = Path(tempfile.mkdtemp(prefix="leoflow-parse-"))
    _remove_at_exit(workdir)

    def parse(path: str, timeout: float) -> dict:
        job_id = f"parse-{uuid.uuid4()}"
        out = workdir / f"{job_id}.json"
        done = threading.Event()
        with lock:
            pending[job_id] = done
        forkserver.submit(job_id, "parse", {"path": path, "out": str(out)})
        finished = done.wait(timeout)
        with lock:
            pending.pop(job_id, None)
            code = codes.pop(job_id, None)
        if not finished:
            forkserver.kill(job_id)
            return {"error": f"Timeout: parsing {path} took longer than {timeout:g}s "
                             f"(LEOFLOW_PARSE_TIMEOUT)", "dags": []}
        try:
            with open(out, encoding="utf-8") as f:
                return json.load(f)
        except (OSError, ValueError):
            error = f"Parsing {path} crashed the parser process (exit code {code})"
            if limits["memory_limit_mib"]:  # an allocation failing inside C code may abort the child
                error += f"; if it ran out of memory: {memory_limit_message(path, limits['memory_limit_mib'])}"
            return {"error": error, "dags": []}
        finally:
            out.unlink(missing_ok=True)

    def attach(services) -> None:
        """Answer the children's parse-time reads of variables and connections (on a socket in workdir),
        and tell them their memory cap (a file in workdir: the fork server passes the payload on as is)."""
        from .store_access import SOCKET_NAME, StoreServer

        limits["memory_limit_mib"] = max(services.settings.dag_parse_memory_limit, 0)
        write_limits(str(workdir), memory_limit_mib=limits["memory_limit_mib"])
        if not (workdir / SOCKET_NAME).exists():
            StoreServer(services, str(workdir))

    parse.concurrent = True  # each file in its own child: safe to run several at once
    parse.attach = attach
    parse.workdir = workdir  # for a one-shot user (`dags test`) to remove when done
    return parse


def _remove_at_exit(folder: Path) -> None:
    """The parses' scratch folder (a socket, the limits file) goes when this process exits normally; the
    fork server and its children, forked from it, leave it alone."""
    import atexit
    import shutil

    owner = os.getpid()
    atexit.register(lambda: os.getpid() == owner and shutil.rmtree(folder, ignore_errors=True))


class _InProcessParser:
    """For one-shot commands (`dags list`): parse here, no child; the store of the DagProcessor that
    uses it last is read directly."""

    def __init__(self):
        self.reader = None

    def attach(self, services) -> None:
        from .store_access import DirectReader

        self.reader = DirectReader(services)

    def __call__(self, path: str, timeout: float) -> dict:
        from .parse import parse_file

        result = parse_file(path, self.reader)
        return {"path": path, "dags": result.dags, "error": result.error}


inprocess_parser = _InProcessParser()
