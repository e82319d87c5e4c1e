"""A sensor in reschedule mode is scheduled again once its reschedule date has come, and not before:
the decision looks for due pokes only when the run holds an up_for_reschedule task instance."""

import datetime as dt

import pytest

from leoflow import config
from leoflow.scheduler.loop import Scheduler
from leoflow.services import open_services
from leoflow.store import dags, reschedules, runs, tis
from leoflow.store.types import utcnow

from tests.scheduler.test_queueing import RecordingExecutor

DOC = {"dag_id": "s", "fileloc": "/dags/s.py", "tasks": [
    {"task_id": "wait", "upstream": [], "downstream": [], "trigger_rule": "all_success", "retries": 0}]}


@pytest.fixture
def poked(tmp_path, database_url):
    """(services, the sensor's task instance id, when it poked): it poked once, due again 30 s later."""
    services = open_services(config.load(home=tmp_path, dags_folder=tmp_path, database_url=database_url))
    now = utcnow()
    with services.engine.begin() as conn:
        version = dags.sync_dag(conn, DOC, source_code="", relative_fileloc="s.py")
        runs.create_dag_run(conn, DOC, dag_version_id=version.version_id, run_type="manual", run_after=now,
                            run_id="r", state="running")
        (ti,) = tis.tis_of_run(conn, "s", "r")
        tis.update_ti(conn, ti.id, state="running", try_number=1, start_date=now)
        assert reschedules.reschedule_ti(conn, ti.id, start_date=now, end_date=now,
                                         reschedule_date=now + dt.timedelta(seconds=30))
    yield services, ti.id, now
    services.engine.dispose()


def test_a_poke_is_scheduled_again_when_its_reschedule_date_comes(poked):
    services, ti_id, now = poked
    scheduler = Scheduler(services, RecordingExecutor(), token_secret="x" * 32, create_scheduled_runs=False)
    scheduler.evaluate_run("s", "r", now + dt.timedelta(seconds=10))
    with services.engine.connect() as conn:
        assert tis.get_ti(conn, ti_id).state == "up_for_reschedule"
    assert scheduler._wakeups[("s", "r")] == now + dt.timedelta(seconds=30)  # looked at again then
    scheduler.evaluate_run("s", "r", now + dt.timedelta(seconds=31))
    with services.engine.connect() as conn:
        row = tis.get_ti(conn, ti_id)
    assert row.state == "scheduled" and row.try_number == 1  # the same try pokes again


def test_a_cleared_sensor_starts_its_new_try_with_no_pokes_counted(poked):
    from leoflow.api import clearing

    services, ti_id, _ = poked
    with services.engine.begin() as conn:
        assert reschedules.count(conn, ti_id) == 1
        clearing.clear(conn, [tis.get_ti(conn, ti_id)], DOC)
        assert reschedules.count(conn, ti_id) == 0
        assert reschedules.first_start_date(conn, ti_id) is None  # its timeout counts afresh
