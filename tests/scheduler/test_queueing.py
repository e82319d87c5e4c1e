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
