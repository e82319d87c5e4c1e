"""Task instances that cannot start (pool without slots, run at max_active_tasks) never hide those that can."""

import pytest

from leoflow import config
from leoflow.scheduler.loop import Scheduler
from leoflow.services import open_services
from leoflow.store import dags, runs, tis
from leoflow.store.types import utcnow


class RecordingExecutor:
    """Takes every workload handed to it; the scheduler only needs these four members."""
    name = "LocalExecutor"

    def __init__(self, slots):
        self.slots, self.submitted, self.on_event = slots, [], None

    def drain_exits(self):
        return []

    def free_slots(self):
        return self.slots - len(self.submitted)

    def submit(self, workload, attempt=None):
        self.submitted.append(workload["ti"])


def serialized(dag_id, n, pool="default_pool", weight=1):
    return {"dag_id": dag_id, "fileloc": f"/dags/{dag_id}.py", "tasks": [
        {"task_id": f"t{i}", "upstream": [], "downstream": [], "pool": pool, "priority_weight": weight}
        for i in range(n)]}


@pytest.fixture
def services(tmp_path, database_url):
    s = open_services(config.load(home=tmp_path, dags_folder=tmp_path, database_url=database_url))
    yield s
    s.engine.dispose()


def scheduled_run(services, data):
    with services.engine.begin() as conn:
        v = dags.sync_dag(conn, data, source_code="", relative_fileloc=f"{data['dag_id']}.py")
        run = runs.create_dag_run(conn, data, dag_version_id=v.version_id, run_type="manual", run_after=utcnow())
        runs.set_run_state(conn, data["dag_id"], run["run_id"], "running", start_date=utcnow())
        tis.set_scheduled(conn, [t.id for t in tis.tis_of_run(conn, data["dag_id"], run["run_id"])], utcnow())
    return run["run_id"]


def test_a_full_pool_does_not_starve_other_task_instances(services):
    # 200 waiting on a pool that does not exist, scheduled first and more important than the one that can run.
    scheduled_run(services, serialized("blocked", 200, pool="no_such_pool", weight=10))
    scheduled_run(services, serialized("ready", 1))
    executor = RecordingExecutor(slots=4)  # a window of 16: smaller than what waits
    scheduler = Scheduler(services, executor, token_secret="s")
    assert scheduler.queue_tasks() == 1
    assert [w["dag_id"] for w in executor.submitted] == ["ready"]


def test_a_run_at_max_active_tasks_does_not_starve_another_run(services):
    scheduled_run(services, serialized("big", 200, weight=10))
    scheduled_run(services, serialized("small", 1))
    executor = RecordingExecutor(slots=40)  # a window of 160 holds only big's task instances
    scheduler = Scheduler(services, executor, token_secret="s")
    scheduler.queue_tasks()
    scheduler.queue_tasks()  # at the latest now: big is full, its other 84 leave the window to small
    by_dag = [w["dag_id"] for w in executor.submitted]
    assert by_dag.count("big") == 16 and by_dag.count("small") == 1  # 16: the default max_active_tasks
    assert scheduler.queue_tasks() == 0


def test_a_tick_with_nothing_changed_does_not_look_for_work(services, monkeypatch):
    scheduled_run(services, serialized("ready", 1))
    executor = RecordingExecutor(slots=4)
    scheduler = Scheduler(services, executor, token_secret="s", create_scheduled_runs=False)
    scheduler._last_sweep = scheduler._last_zombie_check = scheduler._last_heartbeat = float("inf")
    scheduler.tick()  # the first pass looks (work may wait from before a restart) and queues the one
    assert len(executor.submitted) == 1
    looked = []
    monkeypatch.setattr(scheduler, "queue_tasks", lambda: looked.append(1) or 0)
    scheduler.tick()
    assert looked == []  # no run evaluated, nothing left behind: no queueing pass
    scheduler._dirty.add(("ready", "r"))
    scheduler.tick()
    assert looked == [1]


def test_the_short_sweep_skips_runs_unchanged_since_their_last_decision(services):
    blocked = scheduled_run(services, serialized("blocked", 50, pool="no_such_pool"))
    ready = scheduled_run(services, serialized("ready", 1))
    scheduler = Scheduler(services, RecordingExecutor(slots=4), token_secret="s", create_scheduled_runs=False)
    assert scheduler._runs_changed_since_decided() == {("blocked", blocked), ("ready", ready)}  # never decided
    now = utcnow()
    scheduler.evaluate_run("blocked", blocked, now)
    scheduler.evaluate_run("ready", ready, now)
    assert scheduler._runs_changed_since_decided() == set()  # nothing changed since
    with services.engine.begin() as conn:  # a task instance of one run changes (e.g. it finished)
        ti = tis.tis_of_run(conn, "ready", ready)[0]
        tis.set_queued(conn, ti.id, None, "LocalExecutor", utcnow())
    assert scheduler._runs_changed_since_decided() == {("ready", ready)}
    assert ("blocked", blocked) in scheduler._unfinished_runs()  # the full sweep still sees every run
