"""One engine per database URL: SQLite (lite) tuned for many small writes, or Postgres via psycopg 3."""

from __future__ import annotations

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool


def normalize_url(url: str) -> str:
    """Accept the spellings users copy from elsewhere; Postgres always goes through psycopg 3."""
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def make_engine(url: str, *, pool_size: int = 5) -> Engine:
    url = normalize_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            # Each thread keeps its own connection; SQLite connections are cheap.
            pool_size=pool_size,
            max_overflow=20,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        # Let SQLAlchemy issue BEGIN itself (pysqlite's own transaction handling
        # would defer it and let two writers race to upgrade a read lock).
        # engine.begin() (the one way Leoflow writes) takes the write lock up front;
        # engine.connect() reads get a plain BEGIN, so in WAL mode they never queue behind writers.
        engine._connection_cls = _SqliteConnection
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if url.startswith("postgresql"):
        return create_engine(url, pool_size=pool_size, max_overflow=20, pool_pre_ping=True)
    raise SystemExit(f"leoflow: unsupported database URL {url!r}: use sqlite:///PATH or postgresql://...")


class _SqliteConnection(Connection):
    """Marks the transactions SQLAlchemy starts by itself on the first statement of engine.connect()."""

    _reading = False

    def _autobegin(self) -> None:
        self._reading = True
        try:
            super()._autobegin()
        finally:
            self._reading = False


def _sqlite_begin(conn) -> None:
    conn.exec_driver_sql("BEGIN" if conn._reading else "BEGIN IMMEDIATE")


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
