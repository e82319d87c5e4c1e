"""A try whose hand-over was lost never stays queued or running: an exit the database could not take is
recorded once it answers again, and a try queued for longer than task_queued_timeout ends (failed or
retried, as its retries say). Real databases; the executor only records."""

import datetime as dt

import pytest
from sqlalchemy.exc import OperationalError

from leoflow import config
from leoflow.scheduler.loop import Scheduler
from leoflow.services import open_services
from leoflow.store import dags, runs, tis
from leoflow.store.types import utcnow


class HandOverExecutor:
    name = "LocalExecutor"

    def __init__(self):
        self.submitted, self.exits = [], []
        self.on_event = lambda: None

    def free_slots(self):
        return 32

    def submit(self, workload):
        self.submitted.append(workload)

    def drain_exits(self):
        exits, self.exits = self.exits, []
        return exits

    def kill(self, *args, **kwargs):
        return False


def _world(tmp_path, database_url, *, retries=0):
    services = open_services(config.load(home=tmp_path, dags_folder=tmp_path, database_url=database_url))
    doc = {"dag_id": "h", "fileloc": str(tmp_path / "h.py"),
           "tasks": [{"task_id": "t", "upstream": [], "downstream": [], "trigger_rule": "all_success",
                      "retries": retries}]}
    with services.engine.begin() as conn:
        version = dags.sync_dag(conn, doc, source_code="", relative_fileloc="h.py")
        runs.create_dag_run(conn, doc, dag_version_id=version.version_id, run_type="manual", run_after=utcnow(),
                            run_id="r", state="running")
        (row,) = tis.tis_of_run(conn, "h", "r")
        tis.update_ti(conn, row.id, state="queued", try_number=1, max_tries=retries, queued_dttm=utcnow())
    executor = HandOverExecutor()
    scheduler = Scheduler(services, executor, token_secret="x" * 32, create_scheduled_runs=False)
    scheduler.start_job()
    return services, scheduler, executor, row.id


def _state(services, ti_id):
    with services.engine.connect() as conn:
        return tis.get_ti(conn, ti_id).state


@pytest.mark.timeout(120)
def test_an_exit_the_database_could_not_take_is_recorded_when_it_is_back(tmp_path):
    from tests.services import own_postgres_server

    with own_postgres_server() as pg:
        services, scheduler, executor, ti_id = _world(tmp_path, pg.url)
        try:
            executor.exits.append({"ti_id": ti_id, "try_number": 1, "exit_code": 1, "dag_id": "h", "run_id": "r",
                                   "task_id": "t"})
            pg.stop()
            with pytest.raises(OperationalError):
                scheduler._handle_executor_exits()
            pg.start()
            scheduler._handle_executor_exits()
            assert _state(services, ti_id) == "failed"  # the exit was kept, not lost with the failed write
        finally:
            services.engine.dispose()


def test_a_try_queued_past_the_timeout_ends_as_its_retries_say(tmp_path, database_url):
    services, scheduler, executor, ti_id = _world(tmp_path, database_url, retries=1)
    try:
        services.settings.task_queued_timeout = 600.0
        scheduler._find_zombies(utcnow())
        assert _state(services, ti_id) == "queued"  # just queued: it may still start
        with services.engine.begin() as conn:
            tis.update_ti(conn, ti_id, queued_dttm=utcnow() - dt.timedelta(seconds=601))
        scheduler._find_zombies(utcnow())
        assert _state(services, ti_id) == "up_for_retry"
    finally:
        services.engine.dispose()
