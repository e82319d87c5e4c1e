"""The job the scheduler queues is Airflow 3.2's ExecuteTask workload, whole (its shape as Airflow's own
`airflow.executors.workloads.ExecuteTask` dumps it: the contract suite validates it with that model)."""

import jwt
import pytest

from leoflow import config
from leoflow.scheduler.loop import Scheduler
from leoflow.services import open_services
from leoflow.store import dags, runs, tis
from leoflow.store.types import utcnow

WORKLOAD_KEYS = ["token", "dag_rel_path", "bundle_info", "log_path", "ti", "sentry_integration", "type"]
TI_KEYS = ["id", "dag_version_id", "task_id", "dag_id", "run_id", "try_number", "map_index", "pool_slots", "queue",
           "priority_weight", "parent_context_carrier", "context_carrier"]


class RecordingExecutor:
    name = "LocalExecutor"

    def __init__(self):
        self.submitted: list[tuple[dict, str]] = []
        self.on_event = lambda: None

    def free_slots(self):
        return 8

    def submit(self, workload, attempt=None):
        self.submitted.append((workload, attempt))

    def drain_exits(self):
        return []


@pytest.fixture
def queued(tmp_path, database_url):
    dags_folder = tmp_path / "dags"
    services = open_services(config.load(home=tmp_path, dags_folder=dags_folder, database_url=database_url))
    doc = {"dag_id": "w", "fileloc": str(dags_folder / "team" / "w.py"), "tasks": [
        {"task_id": "t", "upstream": [], "downstream": [], "pool_slots": 2, "priority_weight": 7, "queue": "gpu"}]}
    with services.engine.begin() as conn:
        v = dags.sync_dag(conn, doc, source_code="", relative_fileloc="team/w.py")
        run = runs.create_dag_run(conn, doc, dag_version_id=v.version_id, run_type="manual", run_after=utcnow(),
                                  run_id="manual__1", state="running")
        ti = tis.tis_of_run(conn, "w", run["run_id"])[0]
        tis.set_scheduled(conn, [ti.id], utcnow())
    executor = RecordingExecutor()
    scheduler = Scheduler(services, executor, token_secret="s" * 32, create_scheduled_runs=False)
    assert scheduler.queue_tasks() == 1
    with services.engine.connect() as conn:
        row = tis.get_ti(conn, ti.id)
    yield executor.submitted[0], row, v.version_id
    services.engine.dispose()


def test_the_queued_job_is_airflows_execute_task_workload(queued):
    (workload, attempt), row, version_id = queued
    assert list(workload) == WORKLOAD_KEYS and list(workload["ti"]) == TI_KEYS
    assert workload["type"] == "ExecuteTask" and workload["sentry_integration"] == ""
    assert workload["dag_rel_path"] == "team/w.py"  # relative to the DAG folder
    assert workload["bundle_info"] == {"name": "dags-folder", "version": None}
    assert workload["log_path"] == "dag_id=w/run_id=manual__1/task_id=t/attempt=1.log"  # relative to the logs
    assert workload["ti"] == {
        "id": row.id, "dag_version_id": version_id, "task_id": "t", "dag_id": "w", "run_id": "manual__1",
        "try_number": 1, "map_index": -1, "pool_slots": row.pool_slots, "queue": row.queue or "default",
        "priority_weight": row.priority_weight, "parent_context_carrier": None, "context_carrier": None}
    assert attempt == row.queued_dttm.isoformat()


def test_its_token_only_starts_the_try(queued):
    (workload, _), row, _ = queued
    claims = jwt.decode(workload["token"], options={"verify_signature": False})
    assert claims["sub"] == row.id and claims["scope"] == "workload" and claims["try_number"] == 1
