"""/backfills: planning dates from the DAG's schedule, created runs, reprocess rules, pause/unpause/cancel."""

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from leoflow.api.backfills import logical_dates
from leoflow.store import runs
from leoflow.store.tables import backfill_dag_run, dag_run, log

from .conftest import add_dag, make_client, login, serialized

UTC = dt.timezone.utc
START = dt.datetime(2026, 1, 1, tzinfo=UTC)


def daily(dag_id="daily", **extra):
    data = serialized(dag_id)
    data.update(schedule={"kind": "cron", "value": "@daily"}, start_date=START.isoformat(), catchup=False, **extra)
    return data


@pytest.fixture
def db_client(db_services):
    add_dag(db_services, daily())
    with make_client(db_services) as c:
        c.headers.update(login(c))
        yield c


def test_dates_follow_the_schedule():
    got = [r.logical_date for r in logical_dates(daily(), START + dt.timedelta(hours=1),
                                                 START + dt.timedelta(days=3))]
    assert got == [START + dt.timedelta(days=d) for d in (1, 2, 3)]
    every_6h = dict(daily(), schedule={"kind": "timedelta", "value": 6 * 3600})
    got = [r.logical_date for r in logical_dates(every_6h, START + dt.timedelta(hours=7),
                                                 START + dt.timedelta(hours=18))]
    assert got == [START + dt.timedelta(hours=h) for h in (12, 18)]  # on the DAG's grid, not from `from_date`


def test_create_makes_queued_backfill_runs_on_both_databases(db_client, db_services):
    body = {"dag_id": "daily", "from_date": "2026-01-02T00:00:00Z", "to_date": "2026-01-04T00:00:00Z",
            "dag_run_conf": {"x": 1}, "max_active_runs": 2}
    dry = db_client.post("/api/v2/backfills/dry_run", json=body).json()
    assert [b["logical_date"] for b in dry["backfills"]] == \
        ["2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z", "2026-01-04T00:00:00Z"]
    resp = db_client.post("/api/v2/backfills", json=body)
    assert resp.status_code == 200, resp.text
    created = resp.json()
    assert created["dag_id"] == "daily" and created["max_active_runs"] == 2 and created["completed_at"] is None
    with db_services.engine.connect() as conn:
        rows = conn.execute(select(dag_run).where(dag_run.c.dag_id == "daily").order_by(dag_run.c.logical_date)).all()
        links = conn.execute(select(backfill_dag_run).order_by(backfill_dag_run.c.sort_ordinal)).all()
    assert [(r.run_type, r.state, r.backfill_id, r.conf, r.triggered_by) for r in rows] == \
        [("backfill", "queued", created["id"], {"x": 1}, "backfill")] * 3
    assert rows[0].run_id == "backfill__2026-01-02T00:00:00+00:00"
    assert [link.dag_run_id for link in links] == [r.id for r in rows]

    assert db_client.post("/api/v2/backfills", json=body).status_code == 409  # one running backfill per DAG
    listing = db_client.get("/api/v2/backfills?dag_id=daily").json()
    assert listing["total_entries"] == 1 and listing["backfills"][0] == created
    assert db_client.get(f"/api/v2/backfills/{created['id']}").json() == created

    paused = db_client.put(f"/api/v2/backfills/{created['id']}/pause").json()
    assert paused["is_paused"] is True
    assert db_client.put(f"/api/v2/backfills/{created['id']}/unpause").json()["is_paused"] is False
    cancelled = db_client.put(f"/api/v2/backfills/{created['id']}/cancel").json()
    assert cancelled["completed_at"] is not None and cancelled["is_paused"] is True
    with db_services.engine.connect() as conn:
        states = conn.execute(select(dag_run.c.state).where(dag_run.c.dag_id == "daily")).scalars().all()
        events = conn.execute(select(log.c.event).where(log.c.event.like("%backfill%")).order_by(log.c.id)).scalars().all()
    assert set(states) == {"failed"}  # queued runs of a cancelled backfill never start
    # The refused second create is audited too, as Airflow logs the action before running it.
    assert events == ["create_backfill", "create_backfill", "pause_backfill", "unpause_backfill", "cancel_backfill"]
    resp = db_client.put(f"/api/v2/backfills/{created['id']}/pause")
    assert resp.status_code == 409 and resp.json()["detail"] == "Backfill is already completed."


def test_existing_runs_follow_reprocess_behavior(client, services):
    add_dag(services, daily())
    with services.engine.begin() as conn:
        for day, state in ((1, "success"), (2, "failed"), (3, "running")):  # Jan 2, 3, 4
            when = START + dt.timedelta(days=day)
            runs.create_dag_run(conn, daily(), dag_version_id=None, run_type="scheduled", run_after=when,
                                logical_date=when, data_interval=(when, when), state=state)
    body = {"dag_id": "daily", "from_date": "2026-01-02T00:00:00Z", "to_date": "2026-01-05T00:00:00Z"}
    dry = lambda behavior: [b["logical_date"][:10] for b in client.post(  # noqa: E731
        "/api/v2/backfills/dry_run", json={**body, "reprocess_behavior": behavior}).json()["backfills"]]
    assert dry("none") == ["2026-01-05"]
    assert dry("failed") == ["2026-01-03", "2026-01-05"]
    assert dry("completed") == ["2026-01-02", "2026-01-03", "2026-01-05"]  # never a run in flight
    created = client.post("/api/v2/backfills", json={**body, "reprocess_behavior": "failed"}).json()
    with services.engine.connect() as conn:
        links = conn.execute(select(backfill_dag_run.c.exception_reason, backfill_dag_run.c.dag_run_id)
                             .order_by(backfill_dag_run.c.sort_ordinal)).all()
        redone = conn.execute(select(dag_run).where(dag_run.c.logical_date == START + dt.timedelta(days=2))).first()
    assert [r.exception_reason for r in links] == ["already exists", None, "in flight", None]
    assert (redone.state, redone.run_type, redone.backfill_id) == ("queued", "backfill", created["id"])


def test_errors_name_what_was_wrong(client, services, anon):
    assert anon.get("/api/v2/backfills?dag_id=xcom3").status_code == 401
    resp = client.get("/api/v2/backfills")
    assert resp.status_code == 422 and resp.json()["detail"][0]["loc"] == ["query", "dag_id"]
    assert client.get("/api/v2/backfills/99").json()["detail"] == "Backfill not found"
    assert client.put("/api/v2/backfills/99/pause").json()["detail"] == "Could not find backfill with id 99"
    resp = client.post("/api/v2/backfills", json={"dag_id": "nope", "from_date": "2026-01-01T00:00:00Z",
                                                  "to_date": "2026-01-02T00:00:00Z"})
    assert resp.status_code == 404 and resp.json()["detail"] == "Could not find dag nope"
    resp = client.post("/api/v2/backfills", json={"dag_id": "xcom3", "from_date": "2026-01-01T00:00:00Z",
                                                  "to_date": "2026-01-02T00:00:00Z"})
    assert resp.status_code == 422 and resp.json()["detail"][0]["msg"] == "xcom3 has no schedule"
    resp = client.post("/api/v2/backfills", json={"dag_id": "xcom3", "from_date": "soon",
                                                  "reprocess_behavior": "all"})
    locs = {tuple(e["loc"]) for e in resp.json()["detail"]}
    assert locs == {("body", "from_date"), ("body", "to_date"), ("body", "reprocess_behavior")}
    add_dag(services, daily("future"))
    resp = client.post("/api/v2/backfills/dry_run", json={"dag_id": "future", "from_date": "2999-01-01T00:00:00Z",
                                                          "to_date": "2999-01-02T00:00:00Z"})
    assert resp.status_code == 422 and "future dates" in resp.json()["detail"][0]["msg"]


def test_the_scheduler_runs_backfill_runs_on_a_real_lite(tmp_path):
    import shutil

    from tests.e2e.lite_process import Lite

    dags = tmp_path / "dags"
    dags.mkdir()
    shutil.copy(Path(__file__).resolve().parents[2] / "dags" / "example_bash.py", dags / "example_bash.py")  # @daily from 2026-01-01
    (tmp_path / "home").mkdir()
    lite = Lite(tmp_path / "home", dags).start()
    try:
        lite.wait_for_dag("example_bash")
        r = lite.api("POST", "/api/v2/backfills", json={"dag_id": "example_bash", "from_date": "2026-01-02T00:00:00Z",
                                                        "to_date": "2026-01-03T00:00:00Z"})
        assert r.status_code == 200, r.text
        for day in ("02", "03"):
            run_id = f"backfill__2026-01-{day}T00:00:00+00:00"
            done = lite.wait_for_run("example_bash", run_id, timeout=60)
            assert (done["state"], done["run_type"], done["logical_date"]) == \
                ("success", "backfill", f"2026-01-{day}T00:00:00Z"), lite.output()
    finally:
        lite.stop()
