"""One engine per database URL: SQLite (lite) tuned for many small writes, or Postgres via psycopg 3."""

from __future__ import annotations

import threading

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool


def normalize_url(url: str) -> str:
    """Accept the spellings users copy from elsewhere; Postgres always goes through psycopg 3."""
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


# A Postgres session left idle inside a transaction (its process frozen, its host cut off) is ended by
# Postgres after this long, releasing its locks (the scheduler's advisory lock among them).
IDLE_IN_TRANSACTION_TIMEOUT_MS = 10_000
# A dead peer is noticed by TCP keepalives within about idle + interval * count seconds.
POSTGRES_CONNECT_ARGS = {"connect_timeout": 5, "keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2,
                         "keepalives_count": 3}


def _postgres_url(url: str, idle_in_transaction_ms: int) -> str:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    options = parsed.query.get("options", "")
    if isinstance(options, tuple):
        options = " ".join(options)
    if "idle_in_transaction_session_timeout" not in options:
        options = f"{options} -c idle_in_transaction_session_timeout={idle_in_transaction_ms}".strip()
    return parsed.update_query_dict({"options": options}).render_as_string(hide_password=False)


def make_engine(url: str, *, pool_size: int = 5, max_overflow: int = 20,
                idle_in_transaction_ms: int = IDLE_IN_TRANSACTION_TIMEOUT_MS) -> Engine:
    url = normalize_url(url)
    if url.startswith("sqlite"):
        _private_sqlite_files(url)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            # Requests queue for the one writer while holding a connection: with a small pool, the ones
            # beyond it opened a new connection (pragmas included) and closed it again, per request.
            # Kept connections are cheap; their page caches fill only as far as the database is read.
            pool_size=max(pool_size, 24),
            max_overflow=24,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        # Let SQLAlchemy issue BEGIN itself (pysqlite's own transaction handling
        # would defer it and let two writers race to upgrade a read lock).
        # engine.begin() (the one way Leoflow writes) takes the write lock up front;
        # engine.connect() reads get a plain BEGIN, so in WAL mode they never queue behind writers.
        engine._connection_cls = _SqliteConnection
        writers = _WriterTurns()
        event.listen(engine, "begin", writers.begin)
        event.listen(engine, "commit", writers.end)
        event.listen(engine, "rollback", writers.end)
        event.listen(engine.pool, "checkin", writers.end)
        return engine
    if url.startswith("postgresql"):
        # No pre-ping (a round trip per checkout, a tenth of a task's statements): a connection the database
        # dropped fails its first statement, and SQLAlchemy then replaces every pooled connection; callers
        # already treat a database error as "try again" (503, the next tick).
        engine = create_engine(_postgres_url(url, idle_in_transaction_ms), pool_size=pool_size, max_overflow=max_overflow,
                               pool_pre_ping=False, connect_args=dict(POSTGRES_CONNECT_ARGS))
        engine._connection_cls = _ReadingConnection
        event.listen(engine, "begin", _postgres_begin)
        return engine
    raise SystemExit(f"leoflow: unsupported database URL {url!r}: use sqlite:///PATH or postgresql://...")


PRIVATE_FILE_MODE = 0o600


def _private_sqlite_files(url: str) -> None:
    """The database file, made before SQLite opens it, readable by this user only (0600); SQLite gives its
    -wal and -shm files the database file's mode. Files an older Leoflow left 0644 are tightened."""
    import os

    from sqlalchemy.engine import make_url

    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    try:
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE_MODE))
    except OSError:
        return  # a folder that does not exist: SQLite's own error says it better
    for path in (database, database + "-wal", database + "-shm"):
        try:
            if (os.stat(path).st_mode & 0o777) != PRIVATE_FILE_MODE:
                os.chmod(path, PRIVATE_FILE_MODE)
        except FileNotFoundError:
            pass


class _ReadingConnection(Connection):
    """Marks the transactions SQLAlchemy starts by itself on the first statement of engine.connect():
    Leoflow only reads there (every write goes through engine.begin())."""

    _reading = False

    def _autobegin(self) -> None:
        self._reading = True
        try:
            super()._autobegin()
        finally:
            self._reading = False


_SqliteConnection = _ReadingConnection


def _postgres_begin(conn) -> None:
    """Reads run without BEGIN and ROLLBACK (two round trips each): under READ COMMITTED every statement
    takes its own snapshot anyway, so a read-only block sees the same either way. engine.begin() gets a
    real transaction."""
    dbapi = conn.connection.dbapi_connection
    if dbapi.autocommit != conn._reading:
        dbapi.autocommit = conn._reading


def upsert_insert(dialect: str):
    """The `insert` construct with ON CONFLICT for this dialect's name (Postgres or SQLite, the two Leoflow runs on)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def without_waiting_for_disk(conn) -> None:
    """Let this transaction's commit return before its WAL is on disk (Postgres `synchronous_commit = off`
    for this transaction only; nothing to do on SQLite, whose lite WAL mode never waits for the disk).

    Only for writes that are derived or informative: a scheduling pass that merely marks tasks scheduled
    (the next pass derives it again), shipped log lines. Postgres keeps its WAL in order, so the next
    ordinary commit on any connection makes this one durable too; only a crash of Postgres itself in the
    fraction of a second between them loses it, never a decision another part acts on (ADR 21)."""
    if conn.dialect.name != "postgresql":
        return
    transaction = conn.get_transaction()
    if conn.info.get("no_disk_wait_in") is transaction:  # asked twice in one transaction: one round trip
        return
    conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
    conn.info["no_disk_wait_in"] = transaction


class _WriterTurns:
    """One writing transaction at a time inside this process, handed over at once.

    SQLite's busy handler retries a locked database after sleeps that grow to 100 ms, so under
    many concurrent writers (task state changes, XCom, the scheduler) a few waited ~0.5 s while
    the lock was free most of that time. Threads now queue on a lock instead; SQLite's own
    locking still arbitrates with other processes, and the wait is bounded so that a lost turn
    can only slow writes down, never stop them.
    """

    TIMEOUT = 5.0

    def __init__(self):
        self.lock = threading.Lock()
        self.mine = threading.local()  # a transaction begins and ends on one thread

    def begin(self, conn) -> None:
        if conn._reading:
            conn.exec_driver_sql("BEGIN")
            return
        if not getattr(self.mine, "turn", False):  # (a turn this thread already holds is reused)
            self.mine.turn = self.lock.acquire(timeout=self.TIMEOUT)
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            self.end()
            raise

    def end(self, *_args) -> None:
        """On commit, rollback and a connection's return to the pool (whichever comes first)."""
        if getattr(self.mine, "turn", False):
            self.mine.turn = False
            self.lock.release()


def make_child_safe_engine(url: str) -> Engine:
    """For short-lived child processes: no pool to inherit or leak."""
    return create_engine(normalize_url(url), poolclass=NullPool)


def _sqlite_pragmas(dbapi_conn, _record):
    # pysqlite must not manage transactions: "begin" above does.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer
    cur.execute("PRAGMA synchronous=NORMAL")  # safe with WAL; no fsync per commit
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA cache_size=-16000")
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.close()
