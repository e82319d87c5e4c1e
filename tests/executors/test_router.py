"""Several executors at once: a task's `executor=` picks one, each keeps its own slots, and a task for an
executor the deployment does not run fails with the reason in its log."""

import json

import pytest

from leoflow import config
from leoflow.executors.router import ExecutorRouter, executor_alias, parse_executor_setting
from leoflow.scheduler.loop import Scheduler
from leoflow.scheduler.try_log import log_path
from leoflow.services import open_services
from leoflow.store import dags, runs, tis
from leoflow.store.types import utcnow


class SlotsExecutor:
    """Takes the workloads handed to it, up to its slots (the scheduler's side of an executor)."""

    def __init__(self, name, slots):
        self.name, self.slots, self.submitted, self.on_event = name, slots, [], None

    def free_slots(self):
        return self.slots - len(self.submitted)

    def submit(self, workload, attempt=None):
        self.submitted.append(workload["ti"]["task_id"])

    def drain_exits(self):
        return []

    def running(self):
        return []

    def kill(self, ti_id, try_number, reason=None, sig=9):
        return False


@pytest.fixture
def services(tmp_path, database_url):
    s = open_services(config.load(home=tmp_path, dags_folder=tmp_path, database_url=database_url))
    yield s
    s.engine.dispose()


def scheduled_run(services, tasks):
    data = {"dag_id": "mixed", "fileloc": "/dags/mixed.py", "tasks": [
        {"task_id": task_id, "upstream": [], "downstream": [], "executor": executor} for task_id, executor in tasks]}
    with services.engine.begin() as conn:
        v = dags.sync_dag(conn, data, source_code="", relative_fileloc="mixed.py")
        run = runs.create_dag_run(conn, data, dag_version_id=v.version_id, run_type="manual", run_after=utcnow())
        runs.set_run_state(conn, "mixed", run["run_id"], "running", start_date=utcnow())
        tis.set_scheduled(conn, [t.id for t in tis.tis_of_run(conn, "mixed", run["run_id"])], utcnow())
    return run["run_id"]


def test_a_task_runs_on_the_executor_it_names_and_the_rest_on_the_default(services):
    run_id = scheduled_run(services, [("plain", None), ("pod", "KubernetesExecutor"),
                                      ("pod_by_path", "airflow.providers.cncf.kubernetes.executors."
                                                      "kubernetes_executor.KubernetesExecutor"),
                                      ("local_by_name", "LocalExecutor")])
    local, pods = SlotsExecutor("LocalExecutor", 8), SlotsExecutor("KubernetesExecutor", 8)
    scheduler = Scheduler(services, ExecutorRouter({"local": local, "kubernetes": pods}), token_secret="s")
    assert scheduler.queue_tasks() == 4
    assert sorted(local.submitted) == ["local_by_name", "plain"]
    assert sorted(pods.submitted) == ["pod", "pod_by_path"]
    with services.engine.connect() as conn:  # each try records the executor that holds it
        by_task = {t.task_id: t.executor for t in tis.tis_of_run(conn, "mixed", run_id)}
    assert by_task == {"plain": "LocalExecutor", "local_by_name": "LocalExecutor",
                       "pod": "KubernetesExecutor", "pod_by_path": "KubernetesExecutor"}


def test_a_full_executor_does_not_hold_back_tasks_for_another(services):
    scheduled_run(services, [(f"local{i}", None) for i in range(5)] + [("pod", "kubernetes")])
    local, pods = SlotsExecutor("LocalExecutor", 2), SlotsExecutor("KubernetesExecutor", 1)
    scheduler = Scheduler(services, ExecutorRouter({"local": local, "kubernetes": pods}), token_secret="s")
    scheduler.queue_tasks()
    assert len(local.submitted) == 2 and pods.submitted == ["pod"]


def test_a_task_for_an_executor_not_run_here_fails_and_says_why(services):
    run_id = scheduled_run(services, [("pod", "KubernetesExecutor"), ("celery", "CeleryExecutor"),
                                      ("unknown", "MyOwnExecutor"), ("plain", None)])
    local = SlotsExecutor("LocalExecutor", 8)
    scheduler = Scheduler(services, local, token_secret="s")  # one executor: local alone
    assert scheduler.queue_tasks() == 1 and local.submitted == ["plain"]
    with services.engine.connect() as conn:
        rows = {t.task_id: t for t in tis.tis_of_run(conn, "mixed", run_id)}
    for task_id, wanted in (("pod", "KubernetesExecutor"), ("celery", "CeleryExecutor"),
                            ("unknown", "MyOwnExecutor")):
        assert rows[task_id].state == "failed"
        record = json.loads(log_path(services.settings.logs_folder, rows[task_id]).read_text().splitlines()[-1])
        assert record["event"] == (f"Cannot run: the task asks for executor {wanted!r}, which this deployment "
                                   "does not run (LEOFLOW_EXECUTOR=local)")
    assert rows["plain"].state == "queued"


def test_executor_names_as_airflow_writes_them():
    assert executor_alias("KubernetesExecutor") == "kubernetes"
    assert executor_alias("airflow.executors.local_executor.LocalExecutor") == "local"
    assert executor_alias("my_alias:airflow.providers.edge3.executors.EdgeExecutor") == "agent"
    assert executor_alias("CeleryExecutor") == "agent"
    assert executor_alias("NoSuchExecutor") is None and executor_alias("") is None
    assert parse_executor_setting("kubernetes, local,kubernetes") == ["kubernetes", "local"]


@pytest.mark.parametrize("value, message", [
    ("", "leoflow: LEOFLOW_EXECUTOR names no executor; use one or more of local, agent, kubernetes "
         "(comma-separated)"),
    ("local,steam", "leoflow: LEOFLOW_EXECUTOR: 'steam' is not an executor Leoflow has; use one or more of "
                    "local, agent, kubernetes (comma-separated)"),
])
def test_a_bad_executor_setting_is_refused_by_name(tmp_path, monkeypatch, value, message):
    monkeypatch.setenv("LEOFLOW_EXECUTOR", value or ",")
    with pytest.raises(SystemExit) as refused:
        config.load(home=tmp_path)
    assert str(refused.value) == message


def test_airflows_executor_variable_is_read(tmp_path, monkeypatch):
    monkeypatch.setenv("AIRFLOW__CORE__EXECUTOR", "LocalExecutor")
    assert config.load(home=tmp_path).executor == "local"

