"""Whole runs through `leoflow dags test` (scheduler, runner, Execution API together) of DAGs written to
exercise retries, fail/skip exceptions, timeouts, task callbacks, mapping, branching and params."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

DAGS = Path(__file__).parent / "dags"


def dags_test(dag_id: str, marks: Path, *extra: str, plugins: Path | None = None) -> tuple[int, dict]:
    env = {**os.environ, "LEOFLOW_TEST_MARKS": str(marks)}
    if plugins is not None:
        env["LEOFLOW_PLUGINS_FOLDER"] = str(plugins)
    proc = subprocess.run([sys.executable, "-m", "leoflow", "dags", "test", dag_id, "2026-01-05", "-o", "json",
                           "--isolated", "--dags-folder", str(DAGS), *extra], capture_output=True, text=True, env=env,
                          timeout=120)
    return proc.returncode, json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    marks = tmp_path_factory.mktemp("marks")
    jobs = {"failures": ("sem_failures",), "mapping": ("sem_mapping",), "branching": ("sem_branching",),
            "params": ("sem_params", "-c", '{"n": 5}'), "bad_params": ("sem_params", "-c", '{"n": -1}'),
            "fail_fast": ("sem_fail_fast",), "xcom_types": ("sem_xcom_types",)}
    with ThreadPoolExecutor(3) as pool:
        futures = {name: pool.submit(dags_test, args[0], marks, *args[1:]) for name, args in jobs.items()}
        listened = tmp_path_factory.mktemp("listened")
        futures["listeners"] = pool.submit(dags_test, "sem_xcom_types", listened,
                                           plugins=Path(__file__).parent / "plugins")
        outcomes = {name: f.result() for name, f in futures.items()}
    return {**outcomes, "marks": marks, "listened": listened}


def states(body: dict) -> dict:
    return {(t["task_id"] if t["map_index"] < 0 else f"{t['task_id']}[{t['map_index']}]"): (t["state"], t["try_number"])
            for t in body["tasks"]}


def test_retries_fail_skip_timeout_and_trigger_rules(results):
    code, body = results["failures"]
    assert code == 1 and body["run_state"] == "failed"
    assert states(body) == {
        "flaky": ("success", 3),  # two retries, then it works
        "no_retry": ("failed", 1),  # AirflowFailException ignores retries=3
        "skipper": ("skipped", 1),
        "too_slow": ("failed", 1),  # execution_timeout
        "alarm": ("success", 1),  # one_failed
        "only_if_all_skipped": ("success", 1),  # all_skipped
    }


def test_task_callbacks_run_in_the_task_process(results):
    marks = results["marks"]
    written = {p.name: p.read_text() for p in marks.iterdir()}
    assert written == {"flaky.-1.retry": "2", "flaky.-1.success": "3", "no_retry.-1.failure": "1",
                       "skipper.-1.skipped": "1"}


def test_mapping_expands_pulls_and_skips_empty(results):
    code, body = results["mapping"]
    assert code == 0 and body["run_state"] == "success", body
    s = states(body)
    assert {k for k in s if k.startswith("double")} == {"double[0]", "double[1]", "double[2]"}
    assert s["total"] == ("success", 1)  # its asserts check the pulled list and one map index
    assert s["never"] == ("skipped", 0)  # mapped over an empty list
    assert {k for k in s if k.startswith(("add", "zipped"))} == {"add[0]", "add[1]", "zipped[0]", "zipped[1]"}
    assert s["single[0]"] == s["one_value"] == ("success", 1)
    assert {k for k in s if k.startswith("grp.")} == {"grp.plus_one[0]", "grp.plus_one[1]", "grp.check[0]",
                                                      "grp.check[1]"}
    assert all(state == "success" for k, (state, _) in s.items() if k != "never")


def test_branch_and_short_circuit_skips(results):
    code, body = results["branching"]
    assert code == 0 and body["run_state"] == "success"
    s = {k: v[0] for k, v in states(body).items()}
    assert s == {"pick": "success", "left": "success", "right": "skipped", "after_right": "skipped",
                 "mapped_right[0]": "skipped", "mapped_right[1]": "skipped",
                 "join": "success", "gate": "success", "gated": "skipped", "gated_always": "success"}


def test_conf_reaches_params_and_a_bad_conf_creates_no_run(results):
    code, body = results["params"]
    assert code == 0 and body["run_state"] == "success"
    code, body = results["bad_params"]
    assert code == 1 and body["run_state"] is None and "param 'n'" in body["error"]


def test_fail_fast_stops_the_rest_but_not_teardowns(results):
    code, body = results["fail_fast"]
    assert code == 1 and body["run_state"] == "failed"
    s = {k: v[0] for k, v in states(body).items()}
    assert s["breaks"] == "failed" and s["later"] == "skipped"
    assert s["slow"] in ("failed", "skipped")  # failed if it was already running, else skipped
    assert s["cleanup"] == "success"


def test_xcom_values_keep_their_types_and_an_unserializable_one_fails(results):
    code, body = results["xcom_types"]
    s = {k: v[0] for k, v in states(body).items()}
    assert s == {"make": "success", "use": "success", "unserializable": "failed"}


def test_plugin_listeners_hear_each_try(results):
    lines = sorted((results["listened"] / "listener.log").read_text().splitlines())
    assert lines == ["failed unserializable: TypeError", "running make from queued",
                     "running unserializable from queued", "running use from queued", "success make", "success use"]


KEEP_HOME_RUN = """
import datetime as dt, json, sqlite3, sys
from pathlib import Path
from leoflow.dagtest import test_dag
home = Path(sys.argv[2])
result = test_dag(sys.argv[1], Path(sys.argv[3]), dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc), keep_home=home)
rows = sqlite3.connect(home / "leoflow.db").execute(
    "select task_id, map_index, state, rendered_map_index from task_instance order by task_id, map_index").fetchall()
print(json.dumps({"run_state": result.run_state, "rows": rows}))
"""


def test_mapped_instances_get_their_rendered_labels(tmp_path):
    proc = subprocess.run([sys.executable, "-c", KEEP_HOME_RUN, "sem_labels", str(tmp_path), str(DAGS)],
                          capture_output=True, text=True, timeout=120)
    body = json.loads(proc.stdout.strip().splitlines()[-1])
    assert body["run_state"] == "failed"  # a label that cannot render fails its task, as in Airflow
    assert body["rows"] == [["bad_label", 0, "failed", None], ["from_template", 0, "success", "a"],
                            ["from_template", 1, "success", "b"], ["set_while_running", 0, "success", "item 1"]]
