"""`without_waiting_for_disk` on Postgres: one `SET LOCAL` per transaction however often a pass asks
(a decision and its queueing both ask), and a later transaction on the same pooled connection is
asked afresh, since SET LOCAL ends with its transaction."""

from __future__ import annotations

from sqlalchemy import event, text

from tests.services import postgres_schema_url


def test_one_set_local_per_transaction_and_each_transaction_its_own():
    from leoflow.store.engine import make_engine, without_waiting_for_disk

    with postgres_schema_url() as url:
        engine = make_engine(url)
        sent = []
        event.listen(engine, "before_cursor_execute",
                     lambda conn, cursor, statement, *a: sent.append(statement) if "synchronous_commit" in statement
                     else None)
        try:
            for _ in range(2):  # the second transaction gets the same pooled connection back
                with engine.begin() as conn:
                    without_waiting_for_disk(conn)
                    without_waiting_for_disk(conn)
                    assert conn.execute(text("SHOW synchronous_commit")).scalar() == "off"
            with engine.begin() as conn:  # a transaction that did not ask waits for the disk as usual
                assert conn.execute(text("SHOW synchronous_commit")).scalar() == "on"
            assert sent.count("SET LOCAL synchronous_commit = off") == 2
        finally:
            engine.dispose()
