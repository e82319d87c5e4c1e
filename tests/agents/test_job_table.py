"""The agents' job table on the machine's Postgres: claims never overlap, every step is compare-and-set."""

from __future__ import annotations

import threading

import pytest

from leoflow.agents.credentials import digest
from leoflow.store import agents as store
from leoflow.store import migrate
from leoflow.store.engine import make_engine
from tests.services import postgres_schema_url


@pytest.fixture
def engine():
    with postgres_schema_url() as url:
        engine = make_engine(url)
        migrate.upgrade(engine)
        yield engine
        engine.dispose()


def _enqueue(engine, n: int, queue: str = "default") -> None:
    with engine.begin() as conn:
        for i in range(n):
            store.enqueue(conn, f"ti{i}#1", ti_id=f"ti{i}", try_number=1, attempt=None, queue=queue,
                          workload={"ti": {"id": f"ti{i}"}}, bundle_sha=None)


def test_concurrent_claims_never_hand_out_a_job_twice(engine):
    _enqueue(engine, 60)
    got: dict[str, list[str]] = {}
    start = threading.Barrier(6)

    def claimer(name):
        start.wait()
        mine = []
        while True:
            with engine.begin() as conn:
                rows = store.claim(conn, name, ["default"], 3, digest(name), 20)
            if not rows:
                break
            mine += [r.id for r in rows]
        got[name] = mine

    threads = [threading.Thread(target=claimer, args=(f"agent{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    claimed = [job for jobs in got.values() for job in jobs]
    assert sorted(claimed) == sorted(f"ti{i}#1" for i in range(60))  # each exactly once


def test_only_the_claimer_with_its_token_moves_a_job_and_a_lost_claim_goes_back(engine):
    _enqueue(engine, 1, queue="gpu")
    with engine.begin() as conn:
        assert store.claim(conn, "a", ["cpu"], 5, digest("t"), 20) == []  # not its queue
        [row] = store.claim(conn, "a", ["gpu"], 5, digest("t"), 20)
        assert not store.acknowledge(conn, row.id, "b", digest("t"))  # another agent
        assert not store.acknowledge(conn, row.id, "a", digest("forged"))
        assert not store.report_exit(conn, row.id, "a", digest("forged"), 0, None)
    with engine.begin() as conn:  # its lease ran out before an acknowledgement: back on the queue
        conn.execute(store.agent_job.update().values(lease_expires=store.utcnow() - store.dt.timedelta(seconds=1)))
        assert store.requeue_expired_claims(conn) == 1
        assert not store.acknowledge(conn, row.id, "a", digest("t"))  # the old claim is dead
        [again] = store.claim(conn, "b", ["gpu"], 5, digest("t2"), 20)
        assert store.acknowledge(conn, again.id, "b", digest("t2"))
        assert store.acknowledge(conn, again.id, "b", digest("t2"))  # repeated: its answer was lost
        assert store.report_exit(conn, again.id, "b", digest("t2"), 0, None)
        assert store.report_exit(conn, again.id, "b", digest("t2"), 0, None)  # the same report again
        assert not store.report_exit(conn, again.id, "b", digest("t2"), 1, "other")
        [taken] = store.take_exits(conn)
        assert (taken.id, taken.exit_code) == (again.id, 0)
        assert store.take_exits(conn) == []


@pytest.mark.postgres
def test_two_transactions_storing_the_same_bundle_both_commit():
    """Two replicas making runs right after the DAG folder changed store the same new bundle at once:
    neither transaction (nor the run it makes) fails on it."""
    import threading

    from sqlalchemy import create_engine, func, select

    from leoflow.store import agents as store
    from leoflow.store.tables import dag_bundle
    from tests.services import postgres_database_url

    with postgres_database_url() as url:
        engine = create_engine(url)
        dag_bundle.create(engine)
        first = engine.connect()
        tx = first.begin()
        store.put_bundle(first, "a" * 64, b"tar")  # not committed yet
        errors = []

        def second():
            try:
                with engine.begin() as conn:
                    store.put_bundle(conn, "a" * 64, b"tar")  # waits for the first, then skips the row
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)

        t = threading.Thread(target=second)
        t.start()
        t.join(1.0)
        tx.commit()
        t.join(10)
        first.close()
        assert not errors, errors
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(dag_bundle)).scalar() == 1
        engine.dispose()
