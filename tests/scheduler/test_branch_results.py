"""A branch task's `skipmixin_key` XCom decides which downstream tasks run, on SQLite and on Postgres
(where the decision reads it with the run's task instances in one statement)."""

from leoflow import config
from leoflow.scheduler.loop import Scheduler
from leoflow.services import open_services
from leoflow.store import dags, runs, tis, xcoms
from leoflow.store.types import utcnow

from tests.scheduler.test_queueing import RecordingExecutor


def _task(task_id, upstream=(), downstream=()):
    return {"task_id": task_id, "upstream": list(upstream), "downstream": list(downstream),
            "trigger_rule": "all_success"}


def test_the_branch_xcom_of_the_upstream_task_decides_which_downstream_tasks_run(tmp_path, database_url):
    services = open_services(config.load(home=tmp_path, dags_folder=tmp_path, database_url=database_url))
    try:
        doc = {"dag_id": "b", "fileloc": str(tmp_path / "b.py"), "tasks": [
            _task("pick", downstream=["left", "right"]), _task("left", upstream=["pick"]),
            _task("right", upstream=["pick"]), _task("other"), _task("after_other", upstream=["other"])]}
        with services.engine.begin() as conn:
            version = dags.sync_dag(conn, doc, source_code="", relative_fileloc="b.py")
            run = runs.create_dag_run(conn, doc, dag_version_id=version.version_id, run_type="manual",
                                      run_after=utcnow(), run_id="r", state="running")
            by_task = {r.task_id: r for r in tis.tis_of_run(conn, "b", run["run_id"])}
            for task_id in ("pick", "other"):
                tis.update_ti(conn, by_task[task_id].id, state="success", end_date=utcnow(), try_number=1)
            xcoms.set(conn, "b", "r", "pick", "skipmixin_key", {"followed": ["left"]})
            # Neither is a branch result: another key, and a map index no unmapped task has.
            xcoms.set(conn, "b", "r", "other", "return_value", {"followed": []})
            xcoms.set(conn, "b", "r", "other", "skipmixin_key", {"followed": []}, 3)
        scheduler = Scheduler(services, RecordingExecutor(), token_secret="x" * 32, create_scheduled_runs=False)
        scheduler.evaluate_run("b", "r", utcnow())
        with services.engine.connect() as conn:
            states = {r.task_id: r.state for r in tis.tis_of_run(conn, "b", "r")}
            rows, branches = tis.decision_rows_and_branches(conn, "b", "r")
        assert states == {"pick": "success", "left": "scheduled", "right": "skipped", "other": "success",
                          "after_other": "scheduled"}
        assert branches == {"pick": {"followed": ["left"]}} and len(rows) == 5
    finally:
        services.engine.dispose()
