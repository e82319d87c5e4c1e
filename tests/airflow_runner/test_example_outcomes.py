"""Airflow 3.2.1's example DAGs (the set the example score uses) with `LEOFLOW_TASK_RUNNER=airflow`:
every task runs in Airflow's own supervisor and task runner, against Leoflow's scheduler and
`/execution`, and each run must end in the same final states as with Leoflow's runner (which match
what real Airflow 3.2.1 recorded, `tests/examples/test_example_outcomes.py`)."""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from tests.examples.test_example_outcomes import RUNNABLE, _run, alternatives, outcome_of, reference_outcome

PARALLEL = int(os.environ.get("LEOFLOW_AIRFLOW_EXAMPLE_PARALLEL", "4"))


@pytest.fixture(scope="module")
def airflow_runs(example_folder, airflow_python) -> dict[str, Future]:
    env = {"LEOFLOW_TASK_RUNNER": "airflow", "LEOFLOW_AIRFLOW_PYTHON": airflow_python,
           # Airflow's supervisor notices its task's end at its next heartbeat wake-up: every second,
           # not every 5 s, so each run's last try frees its slot sooner
           "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": "1"}
    pool = ThreadPoolExecutor(max_workers=PARALLEL)
    futures = {dag_id: pool.submit(_run, dag_id, str(example_folder), env=env) for dag_id in RUNNABLE}
    yield futures
    pool.shutdown(wait=False, cancel_futures=True)


@pytest.mark.parametrize("dag_id", RUNNABLE)
def test_outcome_under_airflows_runner_matches(dag_id, airflow_runs):
    result = airflow_runs[dag_id].result()
    assert "error" not in result, f"{dag_id}: {result.get('error')}\n{result.get('stderr', '')}"
    got = outcome_of(result["run_state"], result["tasks"])
    expected = reference_outcome(dag_id)
    allowed = {expected: "the reference", **alternatives(dag_id, result["started"], result["ended"])}
    if got not in allowed:
        pytest.fail(f"{dag_id}: run {got[0]!r} (expected {expected[0]!r}); only here: {sorted(got[1] - expected[1])}; "
                    f"only expected: {sorted(expected[1] - got[1])}\n{result.get('stderr', '')[-1500:]}")
