"""The everyday CLI: `dags test` (exit codes, JSON), `tasks test`, `dags list|trigger|pause`, `version`, `migrate`."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

FAILING_DAG = '''
from airflow.sdk import dag, task

@dag(dag_id="failing", schedule=None)
def failing():
    @task
    def ok():
        return 1

    @task
    def boom(x):
        raise ValueError("boom on purpose")

    @task
    def after(x):
        return x

    after(boom(ok()))

failing()
'''


def leoflow(*args, home: Path, check: bool = False) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "LEOFLOW_HOME": str(home), "LEOFLOW_CONFIG": str(home / "none.toml")}
    proc = subprocess.run([sys.executable, "-m", "leoflow", *args], capture_output=True, text=True, env=env,
                          timeout=120)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_dags_test_prints_three_successes_and_exits_0(tmp_path, dags_folder):
    proc = leoflow("dags", "test", "example_etl", "--dags-folder", str(dags_folder), home=tmp_path, check=True)
    lines = proc.stdout.splitlines()
    assert [line for line in lines if line.endswith("success (try 1)")] == [
        "extract: success (try 1)", "load: success (try 1)", "transform: success (try 1)"]


def test_dags_test_json_output_for_scripts(tmp_path, dags_folder):
    proc = leoflow("dags", "test", "example_etl", "2026-01-05", "-o", "json", "--dags-folder", str(dags_folder),
                   home=tmp_path, check=True)
    body = json.loads(proc.stdout)
    assert body["run_state"] == "success"
    assert body["tasks"][0] == {"task_id": "extract", "map_index": -1, "state": "success", "try_number": 1}


def test_dags_test_of_a_failing_dag_exits_non_zero_and_names_the_task(tmp_path, dags_folder):
    (dags_folder / "failing.py").write_text(FAILING_DAG)
    proc = leoflow("dags", "test", "failing", "--dags-folder", str(dags_folder), home=tmp_path)
    assert proc.returncode == 1
    assert "boom: failed (try 1)" in proc.stdout
    assert "after: upstream_failed" in proc.stdout
    assert "Failed tasks: after, boom" in proc.stderr or "boom" in proc.stderr


def test_dags_test_names_an_import_error(tmp_path, dags_folder):
    (dags_folder / "bad.py").write_text("from airflow.sdk import dag\n@dag(dag_id='bad_dag')\ndef f(:\n    pass\n")
    proc = leoflow("dags", "test", "bad_dag", "--dags-folder", str(dags_folder), home=tmp_path)
    assert proc.returncode == 1
    assert "bad.py" in proc.stderr and "line 3" in proc.stderr


def test_dags_test_unknown_dag(tmp_path, dags_folder):
    proc = leoflow("dags", "test", "no_such_dag", "--dags-folder", str(dags_folder), home=tmp_path)
    assert proc.returncode == 1 and "not found" in proc.stderr


def test_tasks_test_runs_one_task(tmp_path, dags_folder):
    proc = leoflow("tasks", "test", "example_bash", "say_hello", "2026-01-05", "--dags-folder", str(dags_folder),
                   home=tmp_path, check=True)
    assert "say_hello: success; returned 'hello from example_bash on 2026-01-05'" in proc.stdout


def test_dags_list_trigger_pause(tmp_path, dags_folder):
    listed = leoflow("dags", "list", "-o", "json", "--dags-folder", str(dags_folder), home=tmp_path, check=True)
    assert {d["dag_id"] for d in json.loads(listed.stdout)} >= {"example_etl", "example_bash"}
    leoflow("dags", "pause", "example_etl", "--dags-folder", str(dags_folder), home=tmp_path, check=True)
    listed = json.loads(leoflow("dags", "list", "-o", "json", "--dags-folder", str(dags_folder),
                                home=tmp_path, check=True).stdout)
    assert next(d for d in listed if d["dag_id"] == "example_etl")["is_paused"] == "True"  # as Airflow: text
    trig = leoflow("dags", "trigger", "example_etl", "--conf", '{"rows": 1}', "--dags-folder", str(dags_folder),
                   home=tmp_path, check=True)
    assert "Created run manual__" in trig.stdout
    bad = leoflow("dags", "trigger", "example_etl", "--conf", "[1]", "--dags-folder", str(dags_folder),
                  home=tmp_path)
    assert bad.returncode != 0 and "JSON object" in bad.stderr


def test_version_migrate_and_wrong_arguments(tmp_path):
    from leoflow import __version__

    line = leoflow("version", home=tmp_path, check=True).stdout.strip()
    assert line.split()[0] == __version__, line
    if os.environ.get("LEOFLOW_TEST_BINARY"):  # the commit and the date the executable was built from
        assert re.fullmatch(rf"{re.escape(__version__)} \(commit [0-9a-f]{{12}}, built \S+\)", line), line
    assert "migrated to revision" in leoflow("migrate", home=tmp_path, check=True).stdout
    assert "already at revision" in leoflow("db", "migrate", home=tmp_path, check=True).stdout
    assert leoflow("db", "check", home=tmp_path).returncode == 0
    wrong = leoflow("dags", "tset", home=tmp_path)
    assert wrong.returncode == 2 and "invalid choice: 'tset'" in wrong.stderr


PARAMS_DAG = '''
from airflow.sdk import DAG, Param, task

with DAG("with_params", schedule=None, params={"rows": Param(10, type="integer", minimum=1)}):
    @task
    def show(params=None):
        return params["rows"]

    show()
'''


def test_dags_trigger_checks_conf_against_the_params(tmp_path, dags_folder):
    (dags_folder / "with_params.py").write_text(PARAMS_DAG)
    bad = leoflow("dags", "trigger", "with_params", "--conf", '{"rows": 0}', "--dags-folder", str(dags_folder),
                  home=tmp_path)
    assert bad.returncode == 1 and "param 'rows'" in bad.stderr and "Created run" not in bad.stdout
    good = leoflow("dags", "trigger", "with_params", "--conf", '{"rows": 3}', "--dags-folder", str(dags_folder),
                   home=tmp_path, check=True)
    assert "Created run manual__" in good.stdout


def test_dags_trigger_refuses_a_run_id_airflow_refuses(tmp_path, dags_folder):
    for run_id in ("../../../outside/x", "a b", "<script>"):
        bad = leoflow("dags", "trigger", "example_etl", "-r", run_id, "--dags-folder", str(dags_folder),
                      home=tmp_path)
        assert bad.returncode == 1, bad.stdout
        assert f"The run_id provided '{run_id}' does not match regex pattern" in bad.stderr
    assert not (tmp_path / "outside").exists()
    good = leoflow("dags", "trigger", "example_etl", "-r", "nightly:2026-01-01+fix~1", "--dags-folder",
                   str(dags_folder), home=tmp_path, check=True)
    assert "Created run nightly:2026-01-01+fix~1 of example_etl" in good.stdout
