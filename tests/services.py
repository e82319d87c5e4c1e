"""Real Postgres and Redis for tests: a private schema on the machine's Postgres, and a redis-server the suite
starts itself (a database number per use), so no test touches data that is not its own.

Tests that need them skip when they are unreachable, except under
LEOFLOW_REQUIRE_SERVICES=1 (CI), where an unreachable service is a failure.
"""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager

import pytest

POSTGRES_URL = os.environ.get("LEOFLOW_TEST_POSTGRES_URL", "")
REQUIRED = os.environ.get("LEOFLOW_REQUIRE_SERVICES") == "1"


def _unavailable(what: str, why: str):
    if REQUIRED:
        pytest.fail(f"{what} is required (LEOFLOW_REQUIRE_SERVICES=1) but unavailable: {why}")
    pytest.skip(f"{what} unavailable: {why}")


@contextmanager
def postgres_schema_url():
    """A database URL whose search_path is a fresh schema, dropped afterwards."""
    if not POSTGRES_URL:
        _unavailable("Postgres", "LEOFLOW_TEST_POSTGRES_URL is not set")
    from sqlalchemy import create_engine, text

    from leoflow.store.engine import normalize_url

    base = normalize_url(POSTGRES_URL)
    schema = "leoflow_t_" + uuid.uuid4().hex[:12]
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # noqa: BLE001 - any connection problem means unavailable
        admin.dispose()
        _unavailable("Postgres", str(exc).splitlines()[0])
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def postgres_database_url():
    """A fresh database of the test's own, dropped afterwards.

    For what a schema does not separate: advisory locks and LISTEN/NOTIFY channels belong to a database,
    so servers (or tests) on two schemas of one database would share their scheduler lock.
    """
    if not POSTGRES_URL:
        _unavailable("Postgres", "LEOFLOW_TEST_POSTGRES_URL is not set")
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from leoflow.store.engine import normalize_url

    base = make_url(normalize_url(POSTGRES_URL))
    name = "leoflow_t_" + uuid.uuid4().hex[:12]
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any connection problem means unavailable
        admin.dispose()
        _unavailable("Postgres", str(exc).splitlines()[0])
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class PostgresServer:
    """A Postgres cluster of the test's own (initdb into a temporary folder, trust auth, a free port), so a
    test may stop and restart it; the machine's Postgres is never touched."""

    def __init__(self):
        import glob
        import socket
        import tempfile

        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
        if not bins or os.geteuid() != 0:
            _unavailable("a Postgres of the test's own", "needs Debian's postgresql binaries and root (runs "
                         "them as the postgres user)")
        self.bin = bins[-1]
        # Not under the test's tmp_path: the postgres user cannot enter root's 0700 folders there.
        self.folder = folder = tempfile.mkdtemp(prefix="leoflow-test-pg-")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        os.chown(folder, *_postgres_ids())
        self._as_postgres(f"{self.bin}/initdb", "-D", f"{folder}/data", "-U", "postgres", "--auth=trust",
                          "-E", "UTF8", "--no-sync")

    def _as_postgres(self, *command: str) -> None:
        import subprocess

        proc = subprocess.run(["runuser", "-u", "postgres", "--", *command], capture_output=True, text=True,
                              timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(f"{command[0]} failed: {proc.stderr[-2000:]}")

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> "PostgresServer":
        self._as_postgres(f"{self.bin}/pg_ctl", "-D", f"{self.folder}/data", "-l", f"{self.folder}/log", "-w",
                          "-o", f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off",
                          "start")
        return self

    def stop(self) -> None:
        try:
            self._as_postgres(f"{self.bin}/pg_ctl", "-D", f"{self.folder}/data", "-m", "fast", "-w", "stop")
        except RuntimeError:
            pass

    def remove(self) -> None:
        import shutil

        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


def _postgres_ids() -> tuple[int, int]:
    import pwd

    entry = pwd.getpwnam("postgres")
    return entry.pw_uid, entry.pw_gid


@contextmanager
def own_postgres_server():
    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.remove()


class RedisServer:
    """A redis-server of the test's own, on a free loopback port, keeping nothing on disk.

    Tests never touch the machine's Redis (it may hold someone else's data): the suite starts its own
    server and may stop or restart it to test what happens when Redis goes away.
    """

    def __init__(self, binary: str):
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.binary = binary
        self.process = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self) -> "RedisServer":
        import subprocess
        import time

        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--databases", "64", "--dir", "/tmp"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis

        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(f"redis-server did not start on port {self.port}")
                time.sleep(0.02)
        client.close()
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None


_SUITE_REDIS: list[RedisServer] = []
_next_db = [0]


def _redis_server_binary() -> str | None:
    import shutil

    return os.environ.get("LEOFLOW_TEST_REDIS_SERVER") or shutil.which("redis-server") or (
        "/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server") else None)


@contextmanager
def own_redis_server():
    """A fresh redis-server for one test, stopped afterwards (a test may stop and start it itself)."""
    binary = _redis_server_binary()
    if binary is None:
        _unavailable("Redis", "no redis-server to start (apt-get install redis-server, or LEOFLOW_TEST_REDIS_SERVER)")
    server = RedisServer(binary).start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def redis_url():
    """A Redis URL on the suite's own redis-server (started on first use), a database number per use."""
    import atexit

    if not _SUITE_REDIS:
        binary = _redis_server_binary()
        if binary is None:
            _unavailable("Redis", "no redis-server to start (apt-get install redis-server, or LEOFLOW_TEST_REDIS_SERVER)")
        try:
            _SUITE_REDIS.append(RedisServer(binary).start())
        except Exception as exc:  # noqa: BLE001
            _unavailable("Redis", str(exc))
        atexit.register(_SUITE_REDIS[0].stop)
    _next_db[0] = _next_db[0] % 63 + 1
    url = f"{_SUITE_REDIS[0].url}/{_next_db[0]}"
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    client.flushdb()  # the suite's own server: this database is this test's alone
    try:
        yield url
    finally:
        client.flushdb()  # the suite's own server, as above
        client.close()
