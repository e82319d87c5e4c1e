"""The DAG processor: keep the database in step with the DAG folder.

A changed file is parsed in a child with a timeout; each DAG in it is stored as
a new version only when its serialized form changed; a file that fails becomes
an import error; a deleted file's DAGs become stale. A folder watcher wakes
the loop at once; a periodic scan catches what the watcher misses.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from pathlib import Path

from sqlalchemy import func, select

from ..scheduler import timetables
from ..services import Services
from ..store import assets as asset_store, dags as dag_store
from ..store.tables import dag_run
from ..store.types import utcnow

log = logging.getLogger(__name__)

PARSE_WORKERS = 4  # files parsed at once by child processes; results are still stored one at a time


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


class DagProcessor:
    def __init__(self, services: Services, parse, *, paused_by_default: bool):
        """`parse(path, timeout) -> dict` parses one file (in a child) and returns its result."""
        self.services = services
        self.folder = services.settings.dags_folder
        self.parse = parse
        self.paused_by_default = paused_by_default
        self.seen: dict[str, tuple[float, int]] = {}
        self.wake = threading.Event()
        self.stop = threading.Event()
        self.parse_count = 0
        serve_store = getattr(parse, "serve_store", None)
        if serve_store is not None:  # top-level Variable.get / Connection.get in DAG files (store_access)
            serve_store(services)

    # --- one pass ---------------------------------------------------------

    def refresh(self) -> list[str]:
        """Parse what changed since the last pass; return the files parsed."""
        now_files = list_dag_files(self.folder)
        changed = [p for p, sig in now_files.items() if self.seen.get(p) != sig]
        removed = [p for p in self.seen if p not in now_files]
        # Parse several files at once when the parser runs in children (the processes overlap on
        # the cores); store the results one by one, in order, as before.
        workers = min(PARSE_WORKERS, len(changed)) if getattr(self.parse, "concurrent", False) else 0
        with ThreadPoolExecutor(workers) if workers > 1 else nullcontext() as pool:
            timeout = self.services.settings.parse_timeout
            parsed = {p: pool.submit(self.parse, p, timeout) for p in changed if might_define_dags(p)} if pool else {}
            for path in sorted(changed):
                self.process_file(path, parsed.get(path))
                self.seen[path] = now_files[path]
        for path in removed:
            self.forget_file(path)
            del self.seen[path]
        return changed

    def initial_sync(self) -> None:
        """On start: files the database knows but the folder lost are forgotten."""
        with self.services.engine.connect() as conn:
            known = dag_store.known_filelocs(conn)
        present = list_dag_files(self.folder)
        for path in known - set(present):
            if path:
                self.forget_file(path)

    def process_file(self, path: str, parsed=None) -> None:
        """`parsed`: a future of the parse result when refresh() started it already."""
        if not might_define_dags(path):
            self.forget_file(path)
            return
        result = parsed.result() if parsed else self.parse(path, self.services.settings.parse_timeout)
        self.parse_count += 1
        try:
            source = Path(path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            source = ""
        relative = os.path.relpath(path, self.folder)
        engine = self.services.engine
        with engine.begin() as conn:
            if result.get("error"):
                log.warning("Import error in %s:\n%s", path, result["error"])
                dag_store.set_import_error(conn, path, result["error"])
                return
            dag_store.clear_import_error(conn, path)
            ids = set()
            for data in result["dags"]:
                ids.add(data["dag_id"])
                synced = dag_store.sync_dag(conn, data, source_code=source, relative_fileloc=relative,
                                            paused_by_default=self.paused_by_default)
                # Assets every parse: which one of a shared name/uri is active depends on what else exists.
                asset_store.sync_dag_assets(conn, data)
                if synced.changed:
                    self._plan_next_run(conn, data)
            asset_store.drop_dag_references(conn, dag_store.mark_stale(conn, path, ids))
        self.services.bus.notify_scheduler(kind="dags_changed", path=path)

    def forget_file(self, path: str) -> None:
        with self.services.engine.begin() as conn:
            dag_store.clear_import_error(conn, path)
            asset_store.drop_dag_references(conn, dag_store.mark_stale(conn, path, set()))

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
        try:
            self.initial_sync()
            while not self.stop.is_set():
                try:
                    self.refresh()
                except Exception:
                    log.exception("DAG folder scan failed; retrying")
                self.wake.wait(interval)
                self.wake.clear()
                if observer:
                    self.stop.wait(0.05)  # let a burst of writes to one file settle
        finally:
            if observer:
                observer.stop()

    def _watch(self):
        try:
            from watchdog.events import FileSystemEventHandler
            from watchdog.observers import Observer
        except ImportError:
            return None
        wake = self.wake

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event):
                wake.set()

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
    """Parse files in children of the fork server, each with a timeout."""
    pending: dict[str, threading.Event] = {}
    codes: dict[str, int] = {}
    lock = threading.Lock()

    def on_event(event: dict) -> None:
        if event.get("event") == "exited":
            with lock:
                done = pending.get(event["id"])
                codes[event["id"]] = event["code"]
            if done:
                done.set()

    forkserver.add_listener(on_event)
    workdir = Path(tempfile.mkdtemp(prefix="leoflow-parse-"))

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
            return {"error": f"Parsing {path} crashed the parser process (exit code {code})", "dags": []}
        finally:
            out.unlink(missing_ok=True)

    def serve_store(services) -> None:
        """Answer the children's parse-time reads of variables and connections (on a socket in workdir)."""
        from .store_access import StoreServer

        if not (workdir / "store.sock").exists():
            StoreServer(services, str(workdir))

    parse.concurrent = True  # each file in its own child: safe to run several at once
    parse.serve_store = serve_store
    return parse


class _InProcessParser:
    """For one-shot commands (`dags list`): parse here, no child; the store of the DagProcessor that
    uses it last is read directly."""

    def __init__(self):
        self.reader = None

    def serve_store(self, services) -> None:
        from .store_access import DirectReader

        self.reader = DirectReader(services)

    def __call__(self, path: str, timeout: float) -> dict:
        from .parse import parse_file

        result = parse_file(path, self.reader)
        return {"path": path, "dags": result.dags, "error": result.error}


inprocess_parser = _InProcessParser()
