"""`leoflow dags ...`, `tasks ...` and `backfill create` on the configured database, state checked in the store."""

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from leoflow.store.tables import backfill, dag, dag_run, task_instance

REPO_DAGS = Path(__file__).resolve().parents[2] / "dags"

BROKEN = "from airflow.sdk import dag\nimport no_such_module_here\n"


@pytest.fixture
def dags_folder(tmp_path):
    folder = tmp_path / "dags"
    shutil.copytree(REPO_DAGS, folder, ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def test_dags_and_tasks_verbs_on_the_database(cli, dags_folder):
    d = ["--dags-folder", str(dags_folder)]
    listed = json.loads(cli.ok("dags", "list", *d, "--columns", "dag_id,is_paused,tags", "-o", "json"))
    assert listed[1] == {"dag_id": "example_etl", "is_paused": "False",
                         "tags": [{"name": "example", "dag_id": "example_etl", "dag_display_name": "example_etl"}]}
    created = cli.ok("dags", "trigger", "example_etl", "-r", "cli_run", "-c", '{"rows": 2}', *d)
    assert created == "Created run cli_run of example_etl (queued)\n"
    [run] = cli.json("dags", "list-runs", "example_etl")
    assert (run["run_id"], run["state"], run["logical_date"]) == ("cli_run", "queued", "")
    assert cli.ok("dags", "state", "example_etl", "cli_run") == 'queued, {"rows": 2}\n'
    states = cli.json("tasks", "states-for-dag-run", "example_etl", "cli_run")
    assert [(s["task_id"], s["state"]) for s in states] == [("extract", ""), ("load", ""), ("transform", "")]
    assert cli.ok("tasks", "list", "example_etl", *d) == "extract\nload\ntransform\n"
    assert cli.ok("tasks", "list", "example_etl", "--tree", *d).splitlines()[1:] == [
        "└── <Task(_PythonDecoratedOperator): transform>", "    └── <Task(_PythonDecoratedOperator): load>"]

    with cli.engine.begin() as conn:  # as if the run had failed at `transform`
        conn.execute(task_instance.update().where(task_instance.c.run_id == "cli_run").values(state="success",
                                                                                            try_number=1))
        conn.execute(task_instance.update().where(task_instance.c.task_id == "transform").values(state="failed"))
        conn.execute(task_instance.update().where(task_instance.c.task_id == "load").values(state="upstream_failed"))
        conn.execute(dag_run.update().where(dag_run.c.run_id == "cli_run").values(state="failed"))
    assert cli.ok("tasks", "state", "example_etl", "transform", "cli_run") == "failed\n"
    cleared = cli.ok("tasks", "clear", "example_etl", "-t", "^trans", "--downstream", "--only-failed", "--yes")
    assert cleared == "Cleared 2 task instance(s) of example_etl\n"
    with cli.engine.connect() as conn:
        tis = dict(conn.execute(select(task_instance.c.task_id, task_instance.c.state)).all())
        run_state = conn.execute(select(dag_run.c.state)).scalar()
    assert tis == {"extract": "success", "transform": None, "load": None} and run_state == "queued"

    paused = cli.ok("dags", "pause", "^example_", "--treat-dag-id-as-regex", "--yes", "-o", "json", *d)
    assert json.loads(paused) == [{"dag_id": "example_bash", "is_paused": "False"},
                                  {"dag_id": "example_etl", "is_paused": "False"}]
    with cli.engine.connect() as conn:
        assert conn.execute(select(dag.c.is_paused).where(dag.c.dag_id == "example_etl")).scalar() is True
    assert cli.ok("dags", "delete", "example_etl", "--yes").startswith("Removed example_etl")
    with cli.engine.connect() as conn:
        assert conn.execute(select(dag_run.c.id)).first() is None
    missing = cli.run("dags", "list-runs", "example_etl")
    assert missing.returncode == 2
    assert missing.stderr == (f"leoflow: DAG 'example_etl' not found in the database {cli.shown_url} (the DAG "
                              f"folder was not searched: `leoflow dags list` parses it into the database)\n")


def test_show_report_details_import_errors_and_backfill(lite_cli, dags_folder):
    cli, d = lite_cli, ["--dags-folder", str(dags_folder)]
    (dags_folder / "broken.py").write_text(BROKEN)
    listed = cli.run("dags", "list", *d, "-o", "plain")
    assert listed.stdout == "example_bash\nexample_etl\n"
    assert listed.stderr == (f"leoflow: 1 file(s) in {dags_folder} failed to import; see "
                             f"`leoflow dags list-import-errors`\n")
    errors = cli.run("dags", "list-import-errors", *d, "-o", "json")
    assert errors.returncode == 1  # as Airflow: errors listed, exit 1
    [error] = json.loads(errors.stdout)
    assert error["filepath"] == str(dags_folder / "broken.py") and "no_such_module_here" in error["error"]
    gone = cli.run("dags", "show", "nope", *d)
    assert gone.returncode == 2 and gone.stderr == (
        f"leoflow: DAG 'nope' not found in the DAG folder {dags_folder}; 1 file(s) there failed to import "
        f"(`leoflow dags list-import-errors`)\n")
    (dags_folder / "broken.py").unlink()

    dot = cli.ok("dags", "show", "example_etl", *d)
    assert dot.startswith('digraph "example_etl" {') and '\t"extract" -> "transform"\n' in dot
    assert cli.ok("dags", "show", "example_etl", "--ascii", *d).splitlines() == [
        "example_etl", "  1  [extract]", "  2  [transform]  <- extract", "  3  [load]       <- transform"]
    report = {r["file"]: r for r in cli.json("dags", "report", *d)}
    assert report["/example_etl.py"]["dag_num"] == "1" and report["/example_etl.py"]["dags"] == ["example_etl"]
    details = cli.json("dags", "details", "example_bash", *d)[0]
    assert details["timetable_summary"] == "0 0 * * *" and details["fileloc"] == str(dags_folder / "example_bash.py")

    dry = cli.ok("backfill", "create", "--dag-id", "example_bash", "--from-date", "2026-01-01", "--to-date",
                 "2026-01-03", "--dry-run", *d)
    assert dry.splitlines()[-4:] == ["Runs to be attempted:", "    - 2026-01-01T00:00:00+00:00",
                                     "    - 2026-01-02T00:00:00+00:00", "    - 2026-01-03T00:00:00+00:00"]
    made = cli.ok("backfill", "create", "--dag-id", "example_bash", "--from-date", "2026-01-01", "--to-date",
                  "2026-01-03", "--max-active-runs", "2", "--run-backwards", *d)
    assert made.startswith("Created backfill 1 of example_bash: 3 run(s) from 2026-01-01T00:00:00+00:00")
    with cli.engine.connect() as conn:
        assert conn.execute(select(backfill.c.max_active_runs)).scalar() == 2
        runs = conn.execute(select(dag_run.c.run_type, dag_run.c.state)).all()
    assert runs == [("backfill", "queued")] * 3
    again = cli.run("backfill", "create", "--dag-id", "example_bash", "--from-date", "2026-01-01", "--to-date",
                    "2026-01-03", *d)
    assert (again.returncode, again.stderr) == (
        2, "leoflow: There is already a running backfill for dag example_bash\n")
    nxt = cli.run("dags", "next-execution", "example_etl")
    assert nxt.stdout == "None\n" and "No following schedule can be found" in nxt.stderr
