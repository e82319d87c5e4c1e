"""`leoflow server` on Postgres and Redis, measured beside lite: the same runs, and scheduling throughput.

The bench makes its own Postgres database (LEOFLOW_BENCH_POSTGRES_URL, default the machine's at
127.0.0.1) and starts its own redis-server on a free port; both are removed afterwards.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import httpx

from .lite import PASSWORD, Lite

POSTGRES_URL = os.environ.get("LEOFLOW_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
FERNET_KEY = "kqgO6F1tZ5UeyVZQ5U1qg5mZK8d1ZOVZ6iL8cQ2JZ2o="


@contextmanager
def own_database():
    """A fresh database on the bench's Postgres, dropped afterwards; yields its URL."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from leoflow.store.engine import normalize_url

    base = make_url(normalize_url(POSTGRES_URL))
    name = "leoflow_bench_" + uuid.uuid4().hex[:10]
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def own_redis():
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.02)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)


class Server(Lite):
    """One replica: the same REST calls as lite, started as `leoflow server` after `leoflow migrate`."""

    def __init__(self, command, home: Path, dags: Path, *, database_url: str, redis_url: str | None):
        super().__init__(command, home, dags, env={
            "LEOFLOW_DATABASE_URL": database_url, "LEOFLOW_FERNET_KEY": FERNET_KEY,
            "LEOFLOW_SECRET_KEY": "bench-secret", "LEOFLOW_ADMIN_PASSWORD": PASSWORD,
            **({"LEOFLOW_REDIS_URL": redis_url} if redis_url else {})})

    def start(self, timeout: float = 120.0) -> float:
        home = self.home
        home.mkdir(parents=True, exist_ok=True)
        subprocess.run([*self.command, "migrate", "--home", str(home)], env=self.env, check=True,
                       capture_output=True, timeout=300)
        self.log_path = home.parent / f"server-{self.port}.log"
        log = open(self.log_path, "ab")
        t0 = time.perf_counter()
        self.proc = subprocess.Popen([*self.command, "server", "--home", str(home), "--dags-folder", str(self.dags),
                                      "--port", str(self.port)], stdout=log, stderr=subprocess.STDOUT, env=self.env)
        log.close()
        deadline = t0 + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"leoflow server exited with {self.proc.returncode}:\n{self.output()}")
            try:
                if httpx.get(f"{self.base}/readyz", timeout=2).status_code == 200:
                    return time.perf_counter() - t0
            except httpx.HTTPError:
                pass
            time.sleep(0.02)
        raise RuntimeError(f"leoflow server was not ready in {timeout}s:\n{self.output()}")


class CountingExecutor:
    """Takes every try the scheduler queues and runs none: what is measured is the scheduler alone."""

    name = "CountingExecutor"

    def __init__(self):
        self.submitted = 0
        self.on_event = lambda: None

    def free_slots(self) -> int:
        return 100_000

    def submit(self, workload: dict, attempt: str | None = None) -> None:
        self.submitted += 1

    def drain_exits(self) -> list:
        return []

    def kill(self, ti_id, try_number, reason=None, sig=None) -> bool:
        return False


def queueing_throughput(database_url: str, redis_url: str | None, work: Path, width: int = 10_000) -> float:
    """Task instances queued per second by a server's scheduler on Postgres, with `width` ready no-op tasks.

    The scheduler runs in this process with an executor that runs nothing, so the figure is the
    scheduler's (its queries, its compare-and-set writes, its lease checks), not the tasks'.
    """
    from sqlalchemy import update

    from leoflow import config
    from leoflow.dagproc.processor import DagProcessor, inprocess_parser
    from leoflow.scheduler.leadership import leadership_for
    from leoflow.scheduler.loop import Scheduler
    from leoflow.services import open_services
    from leoflow.store import dags as dag_store
    from leoflow.store import migrate, runs
    from leoflow.store.engine import make_engine
    from leoflow.store.tables import slot_pool
    from leoflow.store.types import utcnow

    from .dagfiles import FAN_OUT

    dags = work / "throughput-dags"
    dags.mkdir(parents=True, exist_ok=True)
    independent = (FAN_OUT.format(dag_id="wide", pool="default_pool", width=width)
                   .replace("    start() >> mids\n", "")  # every no-op task ready at once
                   .replace('tags=["bench"])', f'tags=["bench"], max_active_tasks={width})'))
    (dags / "wide.py").write_text(independent)
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    engine.dispose()
    settings = config.load(home=work / "throughput-home", dags_folder=dags, database_url=database_url,
                           redis_url=redis_url, fernet_key=FERNET_KEY, secret_key="bench-secret")
    services = open_services(settings, mode="server", migrate=False)
    try:
        DagProcessor(services, inprocess_parser, paused_by_default=False).refresh()
        executor = CountingExecutor()
        scheduler = Scheduler(services, executor, token_secret=settings.secret("jwt-execution"), run_triggers=False)
        scheduler.leadership = leadership_for(services.engine, scheduler.start_job())
        scheduler.leadership.renew()
        with services.engine.begin() as conn:
            conn.execute(update(slot_pool).where(slot_pool.c.pool == "default_pool").values(slots=width * 2))
            version, data = dag_store.latest_serialized(conn, "wide")
            run = runs.create_dag_run(conn, data, dag_version_id=version, run_type="manual", run_after=utcnow(),
                                      run_id="throughput")
        scheduler.evaluate_run("wide", run["run_id"], utcnow())  # every no-op task is scheduled now
        started = time.perf_counter()
        while executor.submitted < width:
            if not scheduler.queue_tasks() and time.perf_counter() - started > 300:
                raise RuntimeError(f"queueing stalled at {executor.submitted} of {width}")
        return width / (time.perf_counter() - started)
    finally:
        services.engine.dispose()
