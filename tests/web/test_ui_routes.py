"""The /ui routes on a DAG with a task group, a mapped task, setup/teardown and an edge label.

In-process (a real Services on SQLite and on Postgres) so the tree and the aggregation rules are checked exactly.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from leoflow.store import runs as store_runs
from leoflow.store.tables import dag_favorite, task_instance
from sqlalchemy import update

from tests.api.conftest import PASSWORD, _services, add_dag, make_client, serialized, task


def grouped_dag() -> dict:
    data = serialized("grouped", tags=("ui",))
    setup = task("make_env", downstream=["section.extract"])
    setup["is_setup"] = True
    extract = task("section.extract", ["make_env"], ["section.fan"])
    extract["task_group_id"] = "section"
    fan = task("section.fan", ["section.extract"], ["report"])
    fan.update(task_group_id="section", is_mapped=True, operator_name="@task")
    report = task("report", ["section.fan"], ["drop_env"])
    report["task_display_name"] = "Final report"
    teardown = task("drop_env", ["report"])
    teardown["is_teardown"] = True
    data["tasks"] = sorted([setup, extract, fan, report, teardown], key=lambda t: t["task_id"])
    data["task_groups"] = {"section": {"parent_group_id": None, "is_mapped": False, "tooltip": "the middle",
                                       "prefix_group_id": True, "children": ["section.extract", "section.fan"]}}
    data["edge_labels"] = {"report": {"drop_env": "always"}}
    return data


@pytest.fixture
def app(tmp_path, database_url):
    """SQLite and Postgres: the window and grouping queries must agree on both."""
    svc = _services(tmp_path, database_url)
    data = grouped_dag()
    add_dag(svc, data)
    add_dag(svc, serialized())  # xcom3
    with svc.engine.begin() as conn:
        from leoflow.store import dags as store_dags

        version_id = store_dags.latest_serialized(conn, "grouped")[0]
        run = store_runs.create_dag_run(conn, data, dag_version_id=version_id, run_type="manual",
                                        run_after=dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC), run_id="r1",
                                        state="running")
        conn.execute(update(task_instance).where(task_instance.c.run_id == "r1", task_instance.c.task_id == "section.fan")
                     .values(map_index=0, state="success"))
        fan = [t for t in data["tasks"] if t["task_id"] == "section.fan"][0]
        for i, state in ((1, "failed"), (2, "running")):
            row = store_runs.new_ti_row("grouped", "r1", fan, version_id, run["queued_at"], map_index=i)
            conn.execute(task_instance.insert().values({**row, "state": state}))
        t0 = dt.datetime(2026, 11, 1, 12, 0, 5, tzinfo=dt.UTC)
        conn.execute(update(task_instance).where(task_instance.c.run_id == "r1",
                                                 task_instance.c.task_id == "section.extract")
                     .values(state="success", start_date=t0, end_date=t0 + dt.timedelta(seconds=2), try_number=1))
        conn.execute(dag_favorite.insert().values(user_id="admin", dag_id="grouped"))
    with make_client(svc) as c:
        c.services = svc  # for tests that add rows
        token = c.post("/auth/token", json={"username": "admin", "password": PASSWORD}).json()["access_token"]
        c.headers["Authorization"] = f"Bearer {token}"
        yield c
    svc.engine.dispose()


def test_grid_structure_is_a_topological_tree(app):
    nodes = app.get("/ui/grid/structure/grouped").json()
    assert [n["id"] for n in nodes] == ["make_env", "section", "report", "drop_env"]
    section = nodes[1]
    assert section["label"] == "section"
    assert [(c["id"], c["label"], c["is_mapped"]) for c in section["children"]] == [
        ("section.extract", "extract", False), ("section.fan", "fan", True)]
    assert nodes[0]["setup_teardown_type"] == "setup" and nodes[3]["setup_teardown_type"] == "teardown"
    assert nodes[2]["label"] == "Final report"
    assert app.get("/ui/grid/structure/nope").status_code == 404


def test_ti_summaries_aggregate_groups_and_map_indexes(app):
    resp = app.get("/ui/grid/ti_summaries/grouped", params={"run_ids": ["r1", "missing"]})
    assert resp.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in resp.text.splitlines()]
    assert len(lines) == 1 and lines[0]["run_id"] == "r1"
    by_id = {t["task_id"]: t for t in lines[0]["task_instances"]}
    fan = by_id["section.fan"]
    assert fan["state"] == "failed"  # failed outranks running and success
    assert fan["child_states"] == {"success": 1, "failed": 1, "running": 1}
    assert by_id["section.extract"]["child_states"] is None
    assert by_id["section.extract"]["min_start_date"] == "2026-11-01T12:00:05Z"
    section = by_id["section"]
    assert section["state"] == "failed" and section["child_states"] == {"success": 2, "failed": 1, "running": 1}
    assert by_id["report"]["task_display_name"] == "Final report" and by_id["report"]["state"] is None
    assert by_id["report"]["dag_version_number"] == 1


def test_structure_data_nodes_edges_and_labels(app):
    body = app.get("/ui/structure/structure_data", params={"dag_id": "grouped"}).json()
    ids = [n["id"] for n in body["nodes"]]
    assert ids == ["make_env", "section", "report", "drop_env"]
    section = body["nodes"][1]
    assert section["tooltip"] == "the middle" and [c["id"] for c in section["children"]] == ["section.extract",
                                                                                             "section.fan"]
    assert section["children"][1]["is_mapped"] is True and section["children"][1]["operator"] == "@task"
    edges = {(e["source_id"], e["target_id"]): e for e in body["edges"]}
    assert set(edges) == {("make_env", "section.extract"), ("section.extract", "section.fan"),
                          ("section.fan", "report"), ("report", "drop_env")}
    assert edges[("report", "drop_env")]["label"] == "always"
    sub = app.get("/ui/structure/structure_data", params={"dag_id": "grouped", "root": "report",
                                                          "include_upstream": "true", "depth": 1}).json()
    assert {e["source_id"] for e in sub["edges"]} == {"section.fan"}
    assert app.get("/ui/structure/structure_data").status_code == 422


def test_dags_list_with_latest_runs_and_favourites(app):
    body = app.get("/ui/dags", params={"dag_runs_limit": 2}).json()
    grouped = {d["dag_id"]: d for d in body["dags"]}["grouped"]
    assert grouped["is_favorite"] is True and grouped["pending_actions"] == []
    assert [r["run_id"] for r in grouped["latest_dag_runs"]] == ["r1"]
    assert grouped["latest_dag_runs"][0]["state"] == "running"
    only = app.get("/ui/dags", params={"dag_ids": "xcom3"}).json()
    assert [d["dag_id"] for d in only["dags"]] == ["xcom3"] and only["dags"][0]["latest_dag_runs"] == []
    assert app.get("/ui/dags/grouped/latest_run").json()["run_id"] == "r1"
    assert app.get("/ui/dags/nope/latest_run").status_code == 404


def test_dashboard_counts(app):
    stats = app.get("/ui/dashboard/dag_stats").json()
    assert stats["running_dag_count"] == 1 and stats["active_dag_count"] >= 1
    metrics = app.get("/ui/dashboard/historical_metrics_data", params={"start_date": "2020-01-01T00:00:00Z"}).json()
    # A run not finished yet counts as ending now, so it is inside any window that reaches now.
    assert metrics["task_instance_states"]["failed"] == 1 and metrics["dag_run_states"]["running"] == 1
    assert metrics["task_instance_states"]["no_status"] == 3
    missing = app.get("/ui/dashboard/historical_metrics_data")
    assert missing.status_code == 422 and missing.json()["detail"][0]["loc"] == ["query", "start_date"]


def test_gantt_and_calendar(app):
    gantt = app.get("/ui/gantt/grouped/r1").json()
    # Mapped instances are the grid's business, as in Airflow.
    assert [t["task_id"] for t in gantt["task_instances"]] == ["drop_env", "make_env", "report", "section.extract"]
    assert gantt["task_instances"][3]["start_date"] == "2026-11-01T12:00:05Z"
    assert app.get("/ui/gantt/grouped/nope").status_code == 404
    cal = app.get("/ui/calendar/grouped", params={"granularity": "hourly"}).json()
    assert cal == {"total_entries": 1, "dag_runs": [{"date": "2026-11-01T12:00:00Z", "state": "running", "count": 1}]}
    assert app.get("/ui/calendar/grouped", params={"granularity": "weekly"}).status_code == 422


def test_dependencies_through_assets(app, tmp_path):
    from leoflow.store.tables import (asset, asset_active, dag_schedule_asset_reference,
                                      task_inlet_asset_reference, task_outlet_asset_reference)
    from leoflow.store.types import utcnow

    engine = app.services.engine
    now = utcnow()
    with engine.begin() as conn:
        aid = conn.execute(asset.insert().values(name="orders", uri="s3://b/orders", group="asset", extra={},
                                                 created_at=now, updated_at=now)).inserted_primary_key[0]
        conn.execute(asset_active.insert().values(name="orders", uri="s3://b/orders"))
        conn.execute(task_outlet_asset_reference.insert().values(asset_id=aid, dag_id="grouped", task_id="report",
                                                                 created_at=now, updated_at=now))
        conn.execute(dag_schedule_asset_reference.insert().values(asset_id=aid, dag_id="xcom3", created_at=now,
                                                                  updated_at=now))
        conn.execute(task_inlet_asset_reference.insert().values(asset_id=aid, dag_id="xcom3", task_id="extract",
                                                                created_at=now, updated_at=now))
    body = app.get("/ui/dependencies").json()
    assert {n["id"] for n in body["nodes"]} == {"dag:grouped", f"asset:{aid}", "dag:xcom3"}
    assert [(e["source_id"], e["target_id"]) for e in body["edges"]] == [(f"asset:{aid}", "dag:xcom3"),
                                                                         ("dag:grouped", f"asset:{aid}")]
    assert len(app.get("/ui/dependencies", params={"node_id": "dag:xcom3"}).json()["nodes"]) == 3
    assert app.get("/ui/dependencies", params={"node_id": "dag:nope"}).status_code == 404
    data = app.get("/ui/dependencies", params={"node_id": f"asset:{aid}", "dependency_type": "data"}).json()
    assert {(e["source_id"], e["target_id"]) for e in data["edges"]} == {
        ("task:grouped__SEPARATOR__report", f"asset:{aid}"), (f"asset:{aid}", "task:xcom3__SEPARATOR__extract")}
    assert app.get("/ui/dependencies", params={"dependency_type": "data"}).status_code == 400
    assert app.get("/ui/dependencies", params={"node_id": "asset:999", "dependency_type": "data"}).status_code == 404
    nxt = app.get("/ui/next_run_assets/xcom3").json()
    assert nxt["events"] == [{"id": aid, "uri": "s3://b/orders", "name": "orders", "lastUpdate": None}]
