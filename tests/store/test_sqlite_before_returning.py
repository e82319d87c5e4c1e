"""Lite on SQLite older than 3.35, which has no RETURNING: the executable for glibc 2.31 carries Debian 11's
SQLite 3.34 (a try's final state failed there with "metadata database unavailable" on every retry), and
Ubuntu 20.04's Python has 3.31. The statements of every task's life must not use it on SQLite."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import event


def test_xcom_values_and_log_chunks_are_stored_without_returning_on_sqlite(tmp_path):
    from leoflow.store import dags, log_chunks, migrate, runs, xcoms
    from leoflow.store.engine import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'leoflow.db'}")
    migrate.upgrade(engine)
    sent = []
    event.listen(engine, "before_cursor_execute", lambda conn, cursor, statement, *rest: sent.append(statement))
    doc = {"dag_id": "d", "fileloc": "/dags/d.py", "tasks": [{"task_id": "t", "upstream": [], "downstream": []}]}
    try:
        with engine.begin() as conn:
            version = dags.sync_dag(conn, doc, source_code="", relative_fileloc="d.py")
            runs.create_dag_run(conn, doc, dag_version_id=version.version_id, run_type="manual",
                                run_after=dt.datetime.now(dt.timezone.utc), run_id="r")
            sent.clear()
            assert xcoms.set(conn, "d", "r", "t", "return_value", {"n": 1})
            assert xcoms.set(conn, "d", "r", "t", "return_value", {"n": 2})  # replaced
            assert not xcoms.set(conn, "d", "no-such-run", "t", "return_value", 1)
            key = ("d", "r", "t", -1, 1)
            assert log_chunks.append_many(conn, [(key, 0, "a\n"), (key, 1, "b\n")]) == 2
            assert log_chunks.append_many(conn, [(key, 1, "b\n"), (key, 2, "c\n")]) == 1  # chunk 1 sent twice
        with engine.connect() as conn:
            assert xcoms.get(conn, "d", "r", "t", "return_value").value == {"n": 2}
            assert log_chunks.read(conn, key) == "a\nb\nc\n"
        assert sent and not [s for s in sent if "RETURNING" in s.upper()], sent
    finally:
        engine.dispose()
