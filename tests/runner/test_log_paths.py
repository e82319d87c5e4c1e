"""Every log path built from ids stays inside the logs folder, even for ids no API accepts (a row written
straight into the database): the scheduler does not run such a try, the runner refuses to write, the log
API refuses to read."""

import json
import os
import subprocess
import sys

import pytest
from sqlalchemy import update

from leoflow import config
from leoflow.api.logs import log_path
from leoflow.runner.logfile import log_relative_path
from leoflow.scheduler.loop import Scheduler
from leoflow.services import open_services
from leoflow.store import dags, runs, tis
from leoflow.store.tables import dag_run, task_instance
from leoflow.store.types import utcnow
from tests.api.conftest import login, make_client, services  # noqa: F401  (services: a fixture)
from tests.scheduler.test_queueing import RecordingExecutor

BAD_RUN_ID = "../../../outside/x"


def files_under(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


def test_resolve_keeps_paths_inside_the_folder(tmp_path):
    from leoflow.runner.logfile import UnsafeLogPath, resolve_log_path

    logs = tmp_path / "logs"
    logs.mkdir()
    good = log_relative_path("d", "manual__2026-01-01T00:00:00+00:00", "t", 2, 1)
    assert resolve_log_path(logs, good) == logs / good
    assert resolve_log_path(logs, log_relative_path("..", "..", "..", -1, 1)).is_relative_to(logs)  # "run_id=.."
    for bad in ("/etc/passwd", "../x.log", "dag_id=d/../../x.log", log_relative_path("d", BAD_RUN_ID, "t", -1, 1),
                "dag_id=d/run\x00id/attempt=1.log", ""):
        with pytest.raises(UnsafeLogPath):
            resolve_log_path(logs, bad)


def test_resolve_refuses_a_symlink_that_leads_out(tmp_path):
    from leoflow.runner.logfile import UnsafeLogPath, resolve_log_path

    logs, outside = tmp_path / "logs", tmp_path / "outside"
    logs.mkdir()
    outside.mkdir()
    (logs / "dag_id=d").symlink_to(outside)
    with pytest.raises(UnsafeLogPath):
        resolve_log_path(logs, log_relative_path("d", "r", "t", -1, 1))
    (logs / "dag_id=e").symlink_to(logs / "elsewhere-inside")  # a link that stays inside is fine
    assert resolve_log_path(logs, log_relative_path("e", "r", "t", -1, 1)) == logs / log_relative_path(
        "e", "r", "t", -1, 1)


@pytest.fixture
def hand_written_run(tmp_path, database_url):
    """A scheduled task instance of a run whose id was written into the database by hand."""
    services = open_services(config.load(home=tmp_path / "home", dags_folder=tmp_path, database_url=database_url))
    doc = {"dag_id": "d", "fileloc": str(tmp_path / "d.py"),
           "tasks": [{"task_id": "t", "upstream": [], "downstream": [], "trigger_rule": "all_success"}]}
    with services.engine.begin() as conn:
        v = dags.sync_dag(conn, doc, source_code="", relative_fileloc="d.py")
        now = utcnow()  # the rows as create_dag_run writes them, without its check of the run id
        conn.execute(dag_run.insert().values(dag_id="d", run_id=BAD_RUN_ID, run_after=now, state="running",
                                             run_type="manual", conf={}, clear_number=0, updated_at=now,
                                             created_dag_version_id=v.version_id))
        conn.execute(task_instance.insert().values(runs.new_ti_row("d", BAD_RUN_ID, doc["tasks"][0],
                                                                   v.version_id, now)))
        ti = tis.tis_of_run(conn, "d", BAD_RUN_ID)[0]
        tis.set_scheduled(conn, [ti.id], utcnow())
    yield services, ti.id
    services.engine.dispose()


def test_the_scheduler_fails_a_try_whose_log_would_leave_the_folder(hand_written_run, tmp_path):
    services, ti_id = hand_written_run
    executor = RecordingExecutor()
    scheduler = Scheduler(services, executor, token_secret="x" * 32, create_scheduled_runs=False)
    scheduler.queue_tasks()
    assert executor.submitted == []  # nothing was handed to a runner
    with services.engine.connect() as conn:
        assert tis.get_ti(conn, ti_id).state == "failed"
    assert not (tmp_path / "outside").exists()


def test_the_log_api_reads_nothing_outside_the_folder(services, tmp_path):  # noqa: F811
    """A symlink in the logs folder that points out (the only way a URL's ids could lead there: a
    path parameter never holds a `/`) is not followed; neither are ids with `..` and `/`."""
    outside = tmp_path / "outside"
    target = outside / "run_id=r" / "task_id=transform"
    target.mkdir(parents=True)
    (target / "attempt=1.log").write_text(json.dumps({"event": "a file outside the logs folder"}) + "\n")
    (services.settings.logs_folder / "dag_id=xcom3").symlink_to(outside)
    with make_client(services) as client:
        client.headers.update(login(client))
        resp = client.post("/api/v2/dags/xcom3/dagRuns", json={"logical_date": None, "dag_run_id": "r"})
        assert resp.status_code == 200, resp.text
        with services.engine.begin() as conn:
            conn.execute(update(task_instance).where(task_instance.c.run_id == "r").values(try_number=1,
                                                                                           state="success"))
        body = client.get("/api/v2/dags/xcom3/dagRuns/r/taskInstances/transform/logs/1").json()
    events = [line["event"] for line in body["content"]]
    assert "a file outside the logs folder" not in events
    assert body["content"][0]["sources"] == []
    assert log_path(services.settings.logs_folder, "xcom3", BAD_RUN_ID, "transform", 1) is None


RUN_WORKLOAD = "import json, sys\nfrom leoflow.runner.run import run_workload\nsys.exit(run_workload(json.loads(sys.argv[1])))"


def test_the_runner_refuses_to_write_a_log_outside_the_folder(tmp_path):
    logs, cwd = tmp_path / "home" / "logs", tmp_path / "cwd"
    logs.mkdir(parents=True)
    cwd.mkdir()
    for relative in (log_relative_path("d", BAD_RUN_ID, "t", -1, 1), str(tmp_path / "outside" / "x.log")):
        workload = {"workload": {"token": "x", "dag_rel_path": "d.py", "log_path": relative, "type": "ExecuteTask",
                                 "bundle_info": {"name": "dags-folder", "version": None},
                                 "ti": {"id": "ti", "dag_id": "d", "run_id": BAD_RUN_ID, "task_id": "t",
                                        "map_index": -1, "try_number": 1}},
                    "fileloc": str(tmp_path / "d.py"), "api_url": "http://127.0.0.1:9/execution/",
                    "heartbeat_interval": 5, "logs_folder": str(logs)}
        proc = subprocess.run([sys.executable, "-c", RUN_WORKLOAD, json.dumps(workload)], cwd=cwd,
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 1
        assert "leads out of" in proc.stderr or "not a plain path" in proc.stderr, proc.stderr
    assert files_under(tmp_path / "outside") == [] and files_under(cwd) == [] and files_under(logs) == []
    assert sorted(os.listdir(tmp_path)) == ["cwd", "home"]
