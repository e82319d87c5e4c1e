"""Run ids Airflow 3.2.1 refuses are refused wherever a run is made: the REST API, the Execution API's
TriggerDagRun path (the CLI's `dags trigger -r` is in tests/e2e/test_cli.py), and the store itself."""

import pytest

from leoflow.store import runs
from leoflow.store.types import utcnow
from tests.async_features.conftest import world  # noqa: F401  (the Execution API fixture)

PATTERN = "^[A-Za-z0-9_.~:+-]+$"

HOSTILE = ["../../../outside/x", "a/b", "line\nbreak", "trailing\n", "tab\there", "<script>alert(1)</script>",
           "sp ace", "x" * 300, "nul\x00byte", "é"]
# What Airflow accepts and makes: `:` and `+` of scheduled/manual ids, `~`, dots, dashes.
ACCEPTED = ["manual__2026-01-01T00:00:00+00:00", "my.run~1:2+3-4_5", "..", "x" * 250]


def trigger(client, run_id, dag_id="xcom3"):
    return client.post(f"/api/v2/dags/{dag_id}/dagRuns", json={"logical_date": None, "dag_run_id": run_id})


@pytest.mark.parametrize("run_id", HOSTILE)
def test_rest_trigger_refuses_run_ids_outside_airflows_pattern(client, run_id):
    resp = trigger(client, run_id)
    if "\x00" in run_id:  # refused before the handler: no text column stores a NUL
        assert resp.status_code == 422 and resp.json()["detail"][0]["loc"] == ["body", "dag_run_id"]
        return
    assert resp.status_code == 400, resp.text
    detail = resp.json()["detail"]
    assert detail.startswith(f"The run_id provided '{run_id}'") and "run_id" in detail
    assert PATTERN in detail or "longer than 250" in detail
    assert client.get("/api/v2/dags/~/dagRuns").json()["total_entries"] == 0


@pytest.mark.parametrize("run_id", ACCEPTED)
def test_rest_trigger_accepts_what_airflow_accepts(client, run_id):
    resp = trigger(client, run_id)
    assert resp.status_code == 200, resp.text
    assert resp.json()["dag_run_id"] == run_id


def test_a_manual_run_may_not_take_a_scheduled_runs_id(client):
    resp = trigger(client, "scheduled__2026-01-01T00:00:00+00:00")
    assert resp.status_code == 400
    assert resp.json()["detail"] == ("A manual DAG run cannot use ID 'scheduled__2026-01-01T00:00:00+00:00' since "
                                     "it is reserved for scheduled runs")


def test_the_store_refuses_them_for_every_caller():
    assert runs.run_id_problem("../x") is not None
    assert runs.run_id_problem("scheduled__2026-01-01T00:00:00+00:00", "scheduled") is None
    assert runs.run_id_problem(runs.make_run_id("asset_triggered", utcnow()), "asset_triggered") is None
    with pytest.raises(runs.InvalidRunId):
        runs.check_run_id("a/b")


# (A newline never reaches the handler here: the /execution mount's pattern does not match it, a 404.)
@pytest.mark.parametrize("run_id", ["sp ace", "<script>", "tab%09here", "x" * 300])
def test_execution_api_trigger_refuses_them(world, run_id):  # noqa: F811
    """TriggerDagRunOperator's `trigger_run_id` reaches the server in the path of POST /dag-runs/{dag}/{run}."""
    world.add_dag("controller")
    world.add_dag("target")
    world.add_run("controller")
    ti_id, _ = world.start("controller")
    resp = world.call(ti_id, "post", f"/execution/dag-runs/target/{run_id}", json={"conf": {}})
    assert resp.status_code == 400, resp.text
    assert resp.json()["detail"]["reason"] == "invalid_run_id"
    assert "run_id" in resp.json()["detail"]["message"]
    with world.engine.connect() as conn:
        assert runs.get_run(conn, "target", run_id.replace("%09", "\t")) is None
    assert world.call(ti_id, "post", "/execution/dag-runs/target/good_id", json={}).status_code == 204
