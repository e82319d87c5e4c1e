"""State changes are compare-and-set: a writer that read an older state changes nothing (real Postgres).

On Postgres two transactions can both read a task instance as `running`; the second one's UPDATE waits
for the first to commit and must then find the row changed, not overwrite it.
"""

import threading

import pytest
from sqlalchemy import select

from leoflow.store import runs, tis
from leoflow.store.tables import task_instance
from leoflow.store.types import utcnow

DAG = {"dag_id": "cas", "tasks": [{"task_id": "t"}]}


@pytest.fixture
def pg_engine():
    from leoflow.store import migrate
    from leoflow.store.engine import make_engine
    from tests.services import postgres_schema_url

    with postgres_schema_url() as url:
        engine = make_engine(url)
        migrate.upgrade(engine)
        yield engine
        engine.dispose()


def _ti(engine, state):
    with engine.begin() as conn:
        runs.create_dag_run(conn, DAG, dag_version_id=None, run_type="manual", run_after=utcnow(), run_id="r1")
        ti_id = conn.execute(select(task_instance.c.id)).scalar()
        tis.update_ti(conn, ti_id, state=state, try_number=1, start_date=utcnow())
    return ti_id


def _race(engine, first, second):
    """`first` runs in an open transaction; `second` starts meanwhile, then `first` commits."""
    results = {}
    with engine.connect() as a:
        a.begin()
        results["first"] = first(a)
        started = threading.Event()

        def other():
            with engine.begin() as b:
                started.set()
                results["second"] = second(b)

        t = threading.Thread(target=other)
        t.start()
        started.wait(5)
        t.join(0.5)  # its UPDATE now waits for our row lock
        a.commit()
        t.join(10)
    return results


def test_two_writers_ending_one_try_only_one_wins(pg_engine):
    ti_id = _ti(pg_engine, "running")
    results = _race(pg_engine, lambda c: tis.finish_try(c, ti_id, "success", only_if=("running",)),
                    lambda c: tis.finish_try(c, ti_id, "up_for_retry", only_if=("running",)))
    assert results == {"first": True, "second": False}
    with pg_engine.connect() as conn:
        assert tis.get_ti(conn, ti_id).state == "success"


def test_the_scheduler_does_not_overwrite_a_state_a_user_set_meanwhile(pg_engine):
    ti_id = _ti(pg_engine, None)
    _race(pg_engine, lambda c: tis.update_ti(c, ti_id, state="success"),  # a user marks it success
          lambda c: tis.set_finished_without_running(c, [ti_id], "upstream_failed", utcnow()))
    with pg_engine.connect() as conn:
        assert tis.get_ti(conn, ti_id).state == "success"


def test_two_processes_starting_one_try_only_one_gets_it(pg_engine):
    ti_id = _ti(pg_engine, "queued")
    results = _race(pg_engine, lambda c: tis.start_try(c, ti_id, "queued", 1, pid=1, hostname="a"),
                    lambda c: tis.start_try(c, ti_id, "queued", 1, pid=2, hostname="b"))
    assert results == {"first": True, "second": False}
    with pg_engine.connect() as conn:
        assert tis.get_ti(conn, ti_id).pid == 1
