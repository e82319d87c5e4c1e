"""Which scheduled task instances the scheduler hands to the executor: pools and pool_slots,
max_active_tasks, max_active_tis_per_dag(run), priority order. Real database; the executor only records."""

import pytest

from leoflow import config
from leoflow.scheduler.loop import Scheduler
from leoflow.services import open_services
from leoflow.store import dags, runs, tis
from leoflow.store.tables import slot_pool
from leoflow.store.types import utcnow


class RecordingExecutor:
    name = "LocalExecutor"

    def __init__(self, slots=32):
        self.slots = slots
        self.submitted: list[dict] = []
        self.on_event = lambda: None

    def free_slots(self):
        return self.slots - len(self.submitted)

    def submit(self, workload, attempt=None):
        self.submitted.append(workload["ti"])

    def drain_exits(self):
        return []

    def kill(self, ti_id, try_number):
        pass


def task(task_id, **extra):
    return {"task_id": task_id, "upstream": [], "downstream": [], "trigger_rule": "all_success", **extra}


@pytest.fixture
def make(tmp_path, database_url):
    made = []

    def build(tasks, *, pools=None, n_runs=1):
        services = open_services(config.load(home=tmp_path, dags_folder=tmp_path, database_url=database_url))
        made.append(services)
        doc = {"dag_id": "q", "fileloc": str(tmp_path / "q.py"), "tasks": tasks}
        with services.engine.begin() as conn:
            v = dags.sync_dag(conn, doc, source_code="", relative_fileloc="q.py")
            for name, slots in (pools or {}).items():
                conn.execute(slot_pool.insert().values(pool=name, slots=slots, description="", include_deferred=False))
            for i in range(n_runs):
                run = runs.create_dag_run(conn, doc, dag_version_id=v.version_id, run_type="manual",
                                          run_after=utcnow(), run_id=f"r{i}", state="running")
                rows = tis.tis_of_run(conn, "q", run["run_id"])
                tis.set_scheduled(conn, [r.id for r in rows], utcnow())
        executor = RecordingExecutor()
        scheduler = Scheduler(services, executor, token_secret="x" * 32, create_scheduled_runs=False)
        return scheduler, executor

    yield build
    for services in made:
        services.engine.dispose()


def queued(executor):
    return sorted((w["run_id"], w["task_id"]) for w in executor.submitted)


def test_a_pool_limits_by_slots(make):
    scheduler, executor = make([task("a", pool="small"), task("b", pool="small"), task("c", pool="small", pool_slots=2),
                                task("d")], pools={"small": 2})
    scheduler.queue_tasks()
    names = {t for _, t in queued(executor)}
    assert "d" in names and len(names & {"a", "b", "c"}) in (1, 2)
    used = sum(2 if t == "c" else 1 for t in names & {"a", "b", "c"})
    assert used <= 2


def test_a_missing_pool_never_runs(make):
    scheduler, executor = make([task("a", pool="nope"), task("b")])
    scheduler.queue_tasks()
    assert queued(executor) == [("r0", "b")]


def test_max_active_tis_per_dag_and_per_dagrun(make):
    scheduler, executor = make([task("a", max_active_tis_per_dag=1), task("b", max_active_tis_per_dagrun=1)],
                               n_runs=3)
    scheduler.queue_tasks()
    got = queued(executor)
    assert sum(1 for _, t in got if t == "a") == 1  # one across every run
    assert sum(1 for _, t in got if t == "b") == 3  # one in each run


def test_higher_priority_goes_first_when_slots_are_short(make):
    scheduler, executor = make([task(f"t{i}", priority_weight=i) for i in range(5)])
    executor.slots = 2
    scheduler.queue_tasks()
    assert queued(executor) == [("r0", "t3"), ("r0", "t4")]


class CountingLeader:
    """The sole leader, counting decision transactions; `fail_commit` makes the next one fail as it commits."""

    is_leader = True

    def __init__(self, engine):
        self.engine, self.transactions, self.fail_commit = engine, 0, False

    def renew(self):
        return True

    def release(self):
        pass

    def begin(self):
        from contextlib import contextmanager

        @contextmanager
        def transaction():
            self.transactions += 1
            with self.engine.begin() as conn:
                yield conn
                if self.fail_commit:
                    self.fail_commit = False
                    raise ConnectionError("the database went away as the decision committed")

        return transaction()


def test_the_pass_that_schedules_a_run_queues_it_in_the_same_transaction(make):
    scheduler, executor = make([task("a", downstream=["b"]), {**task("b"), "upstream": ["a"]}])
    with scheduler.services.engine.begin() as conn:  # a fresh run: nothing decided yet
        conn.execute(tis.TI.update().values(state=None, try_number=0))
    scheduler.leadership = CountingLeader(scheduler.services.engine)
    scheduler._last_zombie_check = float("inf")  # only the decision's transaction in this pass
    scheduler._dirty = {("q", "r0")}
    scheduler.tick()
    assert queued(executor) == [("r0", "a")]
    assert scheduler.leadership.transactions == 1  # the decision and the queueing: one commit


def test_a_decision_that_fails_to_commit_hands_nothing_to_the_executor(make):
    scheduler, executor = make([task("a")])
    with scheduler.services.engine.begin() as conn:
        conn.execute(tis.TI.update().values(state=None, try_number=0))
    scheduler.leadership = CountingLeader(scheduler.services.engine)
    scheduler._last_zombie_check = float("inf")  # only the decision's transaction in these passes
    scheduler.leadership.fail_commit = True
    scheduler._dirty = {("q", "r0")}
    with pytest.raises(ConnectionError):
        scheduler.tick()
    assert executor.submitted == []  # its tries were never queued: nothing may run them
    with scheduler.services.engine.connect() as conn:
        assert {r.state for r in tis.tis_of_run(conn, "q", "r0")} == {None}
    scheduler._dirty = {("q", "r0")}
    scheduler.tick()  # the next pass decides and queues again
    assert queued(executor) == [("r0", "a")]


def test_passes_that_decide_tasks_look_for_due_scheduled_runs_once_a_second(make):
    """Work in proportion to what changed: the due time of scheduled runs is read once, not in every pass;
    DAG files changing (the processor's event) makes the next pass look at once."""
    import datetime as dt

    from sqlalchemy import event, update

    from leoflow.store.tables import dag as dag_table

    scheduler, _executor = make([task("a")])
    scheduler.create_scheduled_runs = True
    scheduler._last_zombie_check = float("inf")
    looks = []

    def count(conn, cursor, statement, *args):
        if "next_dagrun_create_after" in statement:
            looks.append(statement)

    engine = scheduler.services.engine
    with engine.begin() as conn:  # the DAG's next scheduled run is an hour away
        conn.execute(update(dag_table).values(is_paused=False,
                                              next_dagrun_create_after=utcnow() + dt.timedelta(hours=1)))
    event.listen(engine, "before_cursor_execute", count)
    try:
        for _ in range(5):
            scheduler._dirty = {("q", "r0")}
            scheduler.tick()
        assert len(looks) == 1
        with engine.begin() as conn:  # a new file version: due now
            conn.execute(update(dag_table).values(next_dagrun=utcnow(), next_dagrun_create_after=utcnow()))
        scheduler.services.bus.notify_scheduler(kind="dags_changed", path="q.py")
        scheduler._wait()
        scheduler.tick()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    from leoflow.store.tables import dag_run

    with engine.connect() as conn:
        made = conn.execute(dag_run.select().where(dag_run.c.dag_id == "q", dag_run.c.run_type == "scheduled")).all()
    assert len(made) == 1 and len(looks) >= 2
