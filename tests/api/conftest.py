"""A real Services (SQLite in tmp_path, or a private Postgres schema) behind the API routes."""

from __future__ import annotations

import json

import pytest
from leoflow import config
from leoflow.api.app import api_routes
from leoflow.services import open_services
from leoflow.store import dags as store_dags
from starlette.applications import Starlette
from starlette.testclient import TestClient

from tests.reference import BODIES
PASSWORD = "s3cret-for-tests"


def reference(name: str):
    return json.loads((BODIES / name).read_text())


def task(task_id, upstream=(), downstream=()):
    return {
        "task_id": task_id, "task_type": "_PythonDecoratedOperator", "custom_operator_name": "@task",
        "upstream": list(upstream), "downstream": list(downstream), "trigger_rule": "all_success",
        "retries": 0, "retry_delay": 300.0, "pool": "default_pool", "pool_slots": 1, "queue": "default",
        "priority_weight": 1, "weight_rule": "downstream", "owner": "airflow", "depends_on_past": False,
        "template_fields": ["op_args", "op_kwargs", "templates_dict"], "doc_md": None, "ui_color": "#ffefeb",
        "ui_fgcolor": "#000", "is_mapped": False,
    }


def serialized(dag_id="xcom3", tags=("anchor",)):
    return {
        "dag_id": dag_id, "fileloc": f"/dags/{dag_id}.py", "description": None, "doc_md": None,
        "schedule": {"kind": "none", "value": None, "preset": None}, "timetable_summary": None,
        "start_date": None, "end_date": None, "catchup": False, "tags": list(tags), "owner": "airflow",
        "max_active_runs": 16, "max_active_tasks": 16, "dagrun_timeout": None, "params": {},
        "is_paused_upon_creation": None,
        "tasks": [task("extract", downstream=["transform"]), task("transform", ["extract"], ["load"]),
                  task("load", ["transform"])],
    }


def add_dag(services, data):
    with services.engine.begin() as conn:
        store_dags.sync_dag(conn, data, source_code="# dag\n", relative_fileloc=f"{data['dag_id']}.py")


def _services(tmp_path, database_url):
    settings = config.load(home=tmp_path, dags_folder=tmp_path / "dags", database_url=database_url,
                           admin_password=PASSWORD)
    return open_services(settings)


@pytest.fixture
def services(tmp_path):
    svc = _services(tmp_path, f"sqlite:///{tmp_path / 'leoflow.db'}")
    add_dag(svc, serialized())
    yield svc
    svc.engine.dispose()


@pytest.fixture
def db_services(database_url, tmp_path):
    """Services on SQLite and on a throw-away Postgres schema (the shared `database_url` fixture)."""
    svc = _services(tmp_path, database_url)
    add_dag(svc, serialized())
    yield svc
    svc.engine.dispose()


def make_client(svc) -> TestClient:
    app = Starlette(routes=api_routes(svc))
    app.state.services = svc  # as asgi.build_app does
    return TestClient(app)


def login(client) -> dict:
    resp = client.post("/auth/token", json={"username": "admin", "password": PASSWORD})
    assert resp.status_code == 201, resp.text
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


@pytest.fixture
def client(services):
    with make_client(services) as c:
        c.headers.update(login(c))
        yield c


@pytest.fixture
def anon(services):
    with make_client(services) as c:
        yield c


def pytest_terminal_summary(terminalreporter):
    """The client sweep's score, when it ran (`tests/api/test_client_sweep.py`)."""
    from tests.api import openapi_check
    from tests.api.sweep import CHECKS, RESULTS

    if not RESULTS:
        return
    operations = openapi_check.operations(openapi_check.public_doc())
    total = len(operations)
    ok = sum(1 for r in RESULTS.values() if r["ok"])
    valid = sum(1 for r in RESULTS.values() if r["schema_valid"])
    write = terminalreporter.write_line
    terminalreporter.section("Airflow REST API client sweep")
    write(f"api ops: {ok}/{total} ok, schema-valid {valid}/{total}")
    missing = sorted(set(operations) - set(CHECKS))
    if missing:
        write(f"without a check ({len(missing)}): {', '.join(missing)}")
    failing = sorted(k for k, r in RESULTS.items() if not r["schema_valid"])
    if failing:
        write(f"failing ({len(failing)}): {', '.join(failing)}")
