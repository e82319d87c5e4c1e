"""Every example DAG that Airflow 3.2.1 ran here ends in Leoflow with the same task-instance states (and XComs).

For each DAG that `outcomes.json` classes `runnable-here`, this runs
`leoflow dags test DAG_ID 2026-01-05 -o json --dags-folder <example folder>` —
the command a user runs, in its own process — and compares every task
instance's final state (map indexes included) and the run's state with what
real Airflow 3.2.1 recorded. Where Airflow's outcome follows the wall clock or
which file was parsed first, the test lists every outcome Airflow could produce
and says why (`alternatives`). For the deterministic DAGs whose XComs Airflow
recorded (`xcoms.json`), every XCom key, map index and value is compared too.
Several DAGs run at once to keep the suite short.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from tests.examples.conftest import record
from tests.reference import REFERENCE_EXAMPLES

_OUTCOMES = json.loads((REFERENCE_EXAMPLES / "outcomes.json").read_text()) if REFERENCE_EXAMPLES.exists() else {}
RUNNABLE = sorted(d for d, v in _OUTCOMES.items() if v.get("class") == "runnable-here")
_XCOMS = json.loads((REFERENCE_EXAMPLES / "xcoms.json").read_text()) if REFERENCE_EXAMPLES.exists() else {}
# Deterministic runnable DAGs whose XComs Airflow recorded: their values are compared too.
XCOM_DAGS = sorted(d for d in _XCOMS if d in RUNNABLE and _OUTCOMES[d].get("determinism") == "deterministic")
# XComs whose value follows the wall clock (a date printed, a run id made of "now").
CLOCK_XCOMS = {("tutorial", "print_date", "return_value"),
               ("example_trigger_controller_dag", "test_trigger_dagrun", "trigger_run_id")}
# An extra link's URL ends with a run id made of "now" (`dags test` runs are manual__<now>).
CLOCK_RUN_ID = re.compile(r"(/runs/manual__)[^/]+$")
LOGICAL_DATE = "2026-01-05"
PARALLEL = int(os.environ.get("LEOFLOW_EXAMPLE_PARALLEL", "4"))  # runs mostly wait (sleeps, forks)
TIMEOUT = 120.0

Outcome = tuple[str, frozenset]  # (run_state, {(task_id, map_index, state)})


def outcome_of(run_state: str | None, tasks: list[dict]) -> Outcome:
    return run_state, frozenset((t["task_id"], t["map_index"], t["state"]) for t in tasks)


def reference_outcome(dag_id: str) -> Outcome:
    ref = _OUTCOMES[dag_id]
    return outcome_of(ref["run_state"], ref["tasks"])


def _replace(outcome: Outcome, run_state: str | None = None, **states: str) -> Outcome:
    """The reference outcome with some task states changed."""
    run, tasks = outcome
    changed = {(t, i, states.get(t, s)) for t, i, s in tasks}
    return run_state or run, frozenset(changed)


def _weekday_branches(day: dt.date) -> dict[str, str]:
    # BranchDayOfWeekOperator reads today's date unless use_task_logical_date=True (this DAG does not).
    monday, weekend = day.weekday() == 0, day.weekday() >= 5
    if monday:
        return {"make_choice": "success", "branch_true": "success", "branch_false": "skipped",
                "make_weekend_choice": "skipped", "branch_weekend": "skipped", "branch_mid_week": "skipped"}
    return {"make_choice": "success", "branch_true": "skipped", "branch_false": "success",
            "make_weekend_choice": "success", "branch_weekend": "success" if weekend else "skipped",
            "branch_mid_week": "skipped" if weekend else "success"}


def _time_window_branches(now: dt.datetime) -> dict[str, str]:
    # target_lower 15:00, target_upper 00:00 (UTC): the window wraps midnight, so it is [15:00, 24:00).
    inside = now.hour >= 15
    return {"datetime_branch": "success", "date_in_range": "success" if inside else "skipped",
            "date_outside_range": "skipped" if inside else "success"}


def alternatives(dag_id: str, started: dt.datetime, ended: dt.datetime) -> dict[Outcome, str]:
    """Outcomes Airflow 3.2.1 could produce besides the recorded one, each with the reason."""
    ref = reference_outcome(dag_id)
    out: dict[Outcome, str] = {}
    if dag_id == "example_weekday_branch_operator":
        for when in {started.date(), ended.date()}:
            out[_replace(ref, **_weekday_branches(when))] = f"wall-clock weekday {when:%A} (reference: a Sunday)"
    if dag_id == "example_branch_datetime_operator_2":
        for when in (started, ended):
            out[_replace(ref, **_time_window_branches(when))] = f"wall-clock time {when:%H:%M} UTC"
    if dag_id.startswith("asset_with_extra_"):
        # Airflow's reference run failed only because another file declared the same URI under another
        # name and was written to the database first (the asset went inactive). `dags test` parses only
        # this DAG's file, so its asset is active and the task succeeds, as in Airflow's plugins variant.
        out[_replace(ref, run_state="success", **{dag_id: "success"})] = "asset active: no competing file parsed"
    if dag_id == "read_asset_event":
        out[_replace(ref, run_state="failed", read_asset_event="failed")] = "its asset inactive (parse order)"
    if dag_id == "read_asset_event_from_classic":
        # Succeeds only when an earlier producer run left an event to read.
        out[_replace(ref, run_state="success", read_asset_event_from_classic="success")] = "a prior event exists"
    return out


def _variants() -> dict[str, tuple[str, list[str], dict]]:
    """Airflow's own re-runs of DAGs that are not runnable as they are: with the conf they need, and with
    the example plugins registered. name -> (dag_id, extra CLI args, the reference run)."""
    out: dict[str, tuple[str, list[str], dict]] = {}
    for dag_id, ref in sorted(_OUTCOMES.items()):
        if ref.get("class") == "needs-conf":
            out[f"{dag_id} (no conf)"] = (dag_id, [], ref)
            for rerun in ref.get("reruns", []):
                conf = rerun["command"].split(" -c ", 1)[1].split(" ", 1)[0]
                out[f"{dag_id} ({rerun['label']})"] = (dag_id, ["-c", conf], rerun)
        if ref.get("class") == "needs-example-plugins" and ref.get("plugins_variant"):
            out[f"{dag_id} (plugins)"] = (dag_id, [], ref["plugins_variant"])
    return out


VARIANTS = _variants()


def _run(dag_id: str, folder: str, *extra: str, keep_in: str | None = None, env: dict | None = None) -> dict:
    env = {**os.environ, "LEOFLOW_DAGS_FOLDER": folder, "LEOFLOW_PLUGINS_FOLDER": os.path.join(folder, "plugins"),
           **(env or {})}
    if keep_in:  # the run's database stays there, for the XCom comparison
        env["LEOFLOW_DAGS_TEST_HOME"] = keep_in
    started = dt.datetime.now(dt.timezone.utc)
    t0 = time.monotonic()
    try:
        # Each run on its own (a throw-away database), never in the home of whoever runs the tests.
        command = [sys.executable, "-m", "leoflow", "dags", "test", dag_id, LOGICAL_DATE, "-o", "json",
                   "--dags-folder", folder, *([] if keep_in else ["--isolated"]), *extra]
        proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=TIMEOUT)
    except subprocess.TimeoutExpired as exc:
        return {"error": f"timed out after {TIMEOUT:.0f} s", "stderr": str(exc.stderr or "")[-3000:],
                "started": started, "ended": dt.datetime.now(dt.timezone.utc)}
    result: dict = {"stderr": proc.stderr[-3000:], "seconds": time.monotonic() - t0, "started": started,
                    "ended": dt.datetime.now(dt.timezone.utc), "exit_code": proc.returncode, "home": keep_in}
    lines = proc.stdout.strip().splitlines()
    try:
        result.update(json.loads(lines[-1]))
    except (IndexError, ValueError):
        result["error"] = f"no JSON on stdout (exit {proc.returncode}): {proc.stdout[-500:]!r}"
    return result


@pytest.fixture(scope="module")
def runs(example_folder, tmp_path_factory) -> dict[str, Future]:
    """Every runnable example DAG, started at once on a small pool; each test waits for its own."""
    pool = ThreadPoolExecutor(max_workers=PARALLEL)
    homes = tmp_path_factory.mktemp("homes")
    futures = {dag_id: pool.submit(_run, dag_id, str(example_folder),
                                   keep_in=str(homes / dag_id) if dag_id in XCOM_DAGS else None)
               for dag_id in RUNNABLE}
    for name, (dag_id, extra, _) in VARIANTS.items():
        futures[name] = pool.submit(_run, dag_id, str(example_folder), *extra)
    yield futures
    pool.shutdown(wait=False, cancel_futures=True)


def test_reference_lists_the_runnable_dags():
    assert len(RUNNABLE) == 77, "outcomes.json changed: the score's denominator would change with it"


@pytest.mark.parametrize("dag_id", RUNNABLE)
def test_outcome_matches_airflow(dag_id, runs):
    result = runs[dag_id].result()
    passed = False
    try:
        assert "error" not in result, f"{dag_id}: {result.get('error')}\n{result.get('stderr', '')}"
        assert set(result) >= {"run_state", "tasks"}
        for t in result["tasks"]:
            assert set(t) == {"task_id", "map_index", "state", "try_number"}, t
        got = outcome_of(result["run_state"], result["tasks"])
        expected = reference_outcome(dag_id)
        allowed = {expected: "the reference", **alternatives(dag_id, result["started"], result["ended"])}
        if got not in allowed:
            extra = sorted(got[1] - expected[1])
            missing = sorted(expected[1] - got[1])
            pytest.fail(f"{dag_id}: run {got[0]!r} (Airflow: {expected[0]!r}); only in Leoflow: {extra}; "
                        f"only in Airflow: {missing}\n{result.get('stderr', '')[-1500:]}")
        passed = True
    finally:
        record("outcome", passed)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_variant_matches_airflow(name, runs):
    """The same comparison for Airflow's re-runs with conf or with the example plugins."""
    dag_id, _, ref = VARIANTS[name]
    result = runs[name].result()
    passed = False
    try:
        if ref.get("run_state") is None:  # Airflow created no run (a required param had no value)
            assert result.get("run_state") is None and result.get("tasks") == [], result
            assert result.get("exit_code") == 1
        else:
            assert "error" not in result, f"{name}: {result.get('error')}\n{result.get('stderr', '')}"
            assert outcome_of(result["run_state"], result["tasks"]) == outcome_of(ref["run_state"], ref["tasks"])
        passed = True
    finally:
        record("variants", passed)


def _comparable(dag_id: str, task_id: str, key: str, value):
    if (dag_id, task_id, key) in CLOCK_XCOMS:
        return "<wall clock>"
    if key.startswith("_link_") and isinstance(value, str):
        return CLOCK_RUN_ID.sub(r"\1<wall clock>", value)
    if key == "skipmixin_key" and isinstance(value, dict):  # Airflow fills these lists from a set
        return {k: sorted(v) if isinstance(v, list) else v for k, v in value.items()}
    return value


@pytest.mark.parametrize("dag_id", XCOM_DAGS)
def test_xcoms_match_airflow(dag_id, runs):
    """Every XCom the run left (key, map index, value, after Airflow's serde) equals what Airflow left."""
    import sqlite3

    from leoflow.scheduler import serde

    result = runs[dag_id].result()
    passed = False
    try:
        assert result.get("home") and "error" not in result, result.get("error")
        rows = sqlite3.connect(os.path.join(result["home"], "leoflow.db")).execute(
            "select task_id, map_index, key, value from xcom where dag_id = ?", (dag_id,)).fetchall()
        got = {(t, m, k): _comparable(dag_id, t, k, serde.decode(json.loads(v))) for t, m, k, v in rows}
        want = {(x["task_id"], x["map_index"], x["key"]): _comparable(dag_id, x["task_id"], x["key"], x["value"])
                for x in _XCOMS[dag_id]}
        differ = sorted(k for k in set(got) | set(want) if got.get(k, "<none>") != want.get(k, "<none>"))
        assert not differ, [(k, got.get(k, "<none>"), want.get(k, "<none>")) for k in differ]
        passed = True
    finally:
        record("xcoms", passed)
