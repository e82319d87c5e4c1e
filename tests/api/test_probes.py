"""Liveness, readiness and Prometheus metrics, as an orchestrator and a scraper see them."""

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from leoflow import metrics
from leoflow.asgi import build_app

from .conftest import PASSWORD


@pytest.fixture
def server_client(db_services, monkeypatch):
    monkeypatch.setattr(metrics, "_metrics", None)
    db_services.mode = "server"
    db_services.settings.metrics_token = "scrape-me"
    with TestClient(build_app(db_services)) as c:
        yield c


def test_live_and_ready_while_the_database_is_current(server_client):
    assert server_client.get("/livez").json() == {"status": "alive"}
    resp = server_client.get("/readyz")
    assert resp.status_code == 200 and resp.json()["status"] == "ready"


def test_not_ready_while_the_schema_is_behind_or_the_process_stops(server_client, db_services):
    with db_services.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    resp = server_client.get("/readyz")
    assert resp.status_code == 503
    assert resp.json()["checks"]["schema"].startswith("behind (at 0001; this build needs")
    with db_services.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :h"), {"h": metrics_head()})
    db_services.stopping.set()
    resp = server_client.get("/readyz")
    assert resp.status_code == 503 and resp.json()["checks"]["process"] == "stopping"
    assert server_client.get("/livez").status_code == 200


def metrics_head():
    from leoflow.store.migrations_head import HEAD

    return HEAD


def test_not_ready_while_the_database_is_unreachable(tmp_path):
    from leoflow import config
    from leoflow.services import Services
    from leoflow.bus import connect
    from leoflow.store.engine import make_engine

    settings = config.load(home=tmp_path, database_url="postgresql://nobody@127.0.0.1:1/none")
    svc = Services(settings=settings, engine=make_engine(settings.database_url), bus=connect(None), mode="server")
    from leoflow.api.probes import readyz

    resp = readyz(svc, None)
    assert resp.status_code == 503 and b"unreachable" in resp.body


def test_metrics_need_the_scrape_token_or_an_admin(server_client):
    assert server_client.get("/metrics").status_code == 401
    assert server_client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    server_client.get("/api/v2/monitor/health")
    token = server_client.post("/auth/token", json={"username": "admin", "password": PASSWORD}).json()["access_token"]
    admin = {"Authorization": f"Bearer {token}"}
    assert server_client.post("/api/v2/dags/xcom3/dagRuns", json={"logical_date": None},
                              headers=admin).status_code == 200  # three task instances, no state yet
    resp = server_client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")
    body = resp.text
    assert 'leoflow_http_requests_total{method="GET",route="/api/v2/monitor/health",status="200"} 1.0' in body
    assert 'leoflow_task_instances{state="none"} 3.0' in body
    assert 'route="/api/v2/dags/{dag_id}/dagRuns"' in body  # by route template, not by path
    assert server_client.get("/metrics", headers=admin).status_code == 200


def test_lite_serves_no_metrics_unless_asked(services, monkeypatch):
    monkeypatch.setattr(metrics, "_metrics", None)
    with TestClient(build_app(services)) as c:
        assert c.get("/metrics", headers={"Authorization": "Bearer x"}).status_code == 404
    assert not metrics.enabled()


def test_an_api_call_while_the_database_is_away_is_a_503_not_a_500(tmp_path):
    from tests.api.conftest import PASSWORD as PW
    from tests.services import own_postgres_server
    from leoflow import config
    from leoflow.services import open_services

    with own_postgres_server() as pg:
        settings = config.load(home=tmp_path, dags_folder=tmp_path / "dags", database_url=pg.url, admin_password=PW)
        svc = open_services(settings)
        with TestClient(build_app(svc)) as c:
            token = c.post("/auth/token", json={"username": "admin", "password": PW}).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            assert c.get("/api/v2/dags", headers=headers).status_code == 200
            pg.stop()
            resp = c.get("/api/v2/dags", headers=headers)
            assert resp.status_code == 503 and resp.headers["retry-after"] == "5"
            assert "database is unavailable" in resp.json()["detail"]
            pg.start()
            assert c.get("/api/v2/dags", headers=headers).status_code == 200  # reconnected by itself
        svc.engine.dispose()
