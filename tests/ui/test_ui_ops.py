"""Every `/ui` operation of Airflow 3.2.1's `_private_ui.yaml` against a real `leoflow lite`.

Each body is validated against the operation's response schema in the document shipped in the
apache-airflow-core wheel (the NDJSON grid stream line by line against `GridTISummaries`). The
score (`ui ops: N/22 ok, schema-valid M/22`) is printed at the end of the run (tests/ui/conftest.py).
"""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest

from tests.api import openapi_check

UI_RESULTS: dict[str, dict] = {}
DAG_ID = "example_etl"


def _ops() -> dict[str, tuple[str, str, dict]]:
    return openapi_check.operations(openapi_check.ui_doc())


@pytest.fixture(scope="module")
def run(ui_lite):
    """A finished run with XCom and logs, and its id."""
    created = ui_lite.trigger(DAG_ID, conf={"from": "ui-ops"})
    ui_lite.wait_for_run(DAG_ID, created["dag_run_id"], timeout=60)
    return created["dag_run_id"]


def calls(run_id: str) -> dict[str, tuple]:
    """operationId -> (method, path, params, json body, expected status)."""
    week_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(days=7)).isoformat()
    return {
        "get_auth_menus": ("GET", "/ui/auth/menus", None, None, 200),
        "get_current_user_info": ("GET", "/ui/auth/me", None, None, 200),
        "generate_token": ("POST", "/ui/auth/token", None, {"token_type": "cli"}, 200),
        "next_run_assets": ("GET", f"/ui/next_run_assets/{DAG_ID}", None, None, 200),
        "get_partitioned_dag_runs": ("GET", "/ui/partitioned_dag_runs", {"dag_id": DAG_ID}, None, 200),
        # Leoflow has no partitioned asset schedules: no pending partition exists, as documented 404.
        "get_pending_partitioned_dag_run": ("GET", f"/ui/pending_partitioned_dag_run/{DAG_ID}/2026-01-01", None,
                                            None, 404),
        "get_configs": ("GET", "/ui/config", None, None, 200),
        "hook_meta_data": ("GET", "/ui/connections/hook_meta", None, None, 200),
        "get_dags_ui": ("GET", "/ui/dags", {"dag_runs_limit": 5, "order_by": "dag_display_name"}, None, 200),
        "get_latest_run_info": ("GET", f"/ui/dags/{DAG_ID}/latest_run", None, None, 200),
        "get_dependencies": ("GET", "/ui/dependencies", None, None, 200),
        "historical_metrics": ("GET", "/ui/dashboard/historical_metrics_data", {"start_date": week_ago}, None, 200),
        "dag_stats": ("GET", "/ui/dashboard/dag_stats", None, None, 200),
        "get_dag_run_deadlines": ("GET", f"/ui/dags/{DAG_ID}/dagRuns/{run_id}/deadlines", None, None, 200),
        "structure_data": ("GET", "/ui/structure/structure_data", {"dag_id": DAG_ID}, None, 200),
        "list_backfills_ui": ("GET", "/ui/backfills", {"dag_id": DAG_ID, "active": "true"}, None, 200),
        "get_dag_structure": ("GET", f"/ui/grid/structure/{DAG_ID}", {"limit": 10, "order_by": "-run_after"},
                              None, 200),
        "get_grid_runs": ("GET", f"/ui/grid/runs/{DAG_ID}", {"limit": 10, "order_by": "-run_after"}, None, 200),
        "get_grid_ti_summaries_stream": ("GET", f"/ui/grid/ti_summaries/{DAG_ID}", {"run_ids": [run_id]}, None,
                                         200),
        "get_gantt_data": ("GET", f"/ui/gantt/{DAG_ID}/{run_id}", None, None, 200),
        "get_calendar": ("GET", f"/ui/calendar/{DAG_ID}", {"granularity": "daily"}, None, 200),
        "list_teams": ("GET", "/ui/teams", None, None, 200),
    }


def test_every_ui_operation_has_a_call():
    assert set(calls("r")) == set(_ops()), sorted(set(calls("r")) ^ set(_ops()))


def _ndjson_problems(text: str) -> list[str]:
    doc = openapi_check.load(openapi_check.ui_doc())
    schema = {"$ref": "#/components/schemas/GridTISummaries"}
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return ["empty NDJSON stream"]
    problems = []
    for line in lines:
        problems += openapi_check.schema_errors(openapi_check.ui_doc(), schema, json.loads(line))
    assert doc  # loaded once, shared with the other checks
    return problems


@pytest.mark.parametrize("operation_id", sorted(calls("r")))
def test_ui_operation(ui_lite, run, operation_id):
    method, path, params, body, expected = calls(run)[operation_id]
    UI_RESULTS[operation_id] = {"ok": False, "schema_valid": False}
    resp = httpx.request(method, ui_lite.base + path, params=params, json=body, timeout=30,
                         headers={"Authorization": f"Bearer {ui_lite.token()}"})
    ok = resp.status_code == expected
    content_type = resp.headers.get("content-type", "").split(";")[0]
    if expected >= 400:
        # Airflow answers this 404 too without documenting it: check it is its `{"detail": ...}` shape.
        problems = openapi_check.schema_errors(openapi_check.ui_doc(),
                                               {"$ref": "#/components/schemas/HTTPExceptionResponse"}, resp.json())
    elif content_type == "application/x-ndjson":
        problems = _ndjson_problems(resp.text)
    else:
        problems = openapi_check.validate_response(openapi_check.ui_doc(), operation_id, resp.status_code,
                                                   resp.json(), content_type or "application/json")
    UI_RESULTS[operation_id] = {"ok": ok, "schema_valid": ok and not problems}
    assert ok, f"{operation_id}: status {resp.status_code} (wanted {expected}): {resp.text[:500]}"
    assert not problems, f"{operation_id} does not match _private_ui.yaml:\n" + "\n".join(problems[:20])
