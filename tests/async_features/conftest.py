"""A database with DAGs, runs and an Execution API client for the waiting/asset/cross-DAG tests."""

from __future__ import annotations

import datetime as dt

import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from leoflow import config
from leoflow.execution_api import execution_routes, tokens
from leoflow.services import open_services
from leoflow.store import assets as asset_store, dags, runs, tis
from leoflow.store.types import utcnow


def asset(name, uri=None, **extra):
    return {"type": "asset", "name": name, "uri": uri or name, "group": "asset", "extra": extra}


class World:
    """One Leoflow database plus helpers to add DAGs, runs and running task instances."""

    def __init__(self, services):
        self.services = services
        self.engine = services.engine
        self.client = TestClient(Starlette(routes=[Mount("/execution", routes=execution_routes(services))]))
        self.secret = services.settings.secret("jwt-execution")

    def add_dag(self, dag_id, tasks=None, schedule=None, **extra):
        data = {"dag_id": dag_id, "fileloc": f"/dags/{dag_id}.py", "schedule": schedule or {"kind": "none"},
                "tasks": tasks or [{"task_id": "t", "upstream": [], "downstream": []}], **extra}
        with self.engine.begin() as conn:
            dags.sync_dag(conn, data, source_code="", relative_fileloc=f"{dag_id}.py")
            asset_store.sync_dag_assets(conn, data)
        return data

    def add_run(self, dag_id, run_id="r1", logical_date=None, state="running"):
        with self.engine.begin() as conn:
            version_id, data = dags.latest_serialized(conn, dag_id)
            run = runs.create_dag_run(conn, data, dag_version_id=version_id, run_type="manual",
                                      run_after=logical_date or utcnow(), logical_date=logical_date,
                                      run_id=run_id)
            if state != "queued":
                runs.set_run_state(conn, dag_id, run_id, state, start_date=utcnow())
        return run

    def ti(self, dag_id, run_id, task_id="t", map_index=-1):
        with self.engine.connect() as conn:
            return tis.get_ti_by_key(conn, dag_id, run_id, task_id, map_index)

    def start(self, dag_id, run_id="r1", task_id="t"):
        """Schedule, queue and start one task instance through the API; returns (ti_id, /run body)."""
        ti = self.ti(dag_id, run_id, task_id)
        with self.engine.begin() as conn:
            if ti.state in (None, "up_for_retry"):
                tis.set_scheduled(conn, [ti.id], utcnow())
            tis.set_queued(conn, ti.id, None, "LocalExecutor", utcnow())
        resp = self.call(ti.id, "patch", f"/execution/task-instances/{ti.id}/run", json={
            "state": "running", "hostname": "h", "unixname": "u", "pid": 42,
            "start_date": utcnow().isoformat()})
        assert resp.status_code == 200, resp.text
        return ti.id, resp.json()

    def call(self, ti_id, method, path, **kw):
        headers = {"Authorization": f"Bearer {tokens.issue(self.secret, ti_id)}"}
        return getattr(self.client, method)(path, headers=headers, **kw)

    def finish(self, ti_id, state="success", **body):
        return self.call(ti_id, "patch", f"/execution/task-instances/{ti_id}/state",
                         json={"state": state, "end_date": utcnow().isoformat(), **body})


@pytest.fixture
def world(tmp_path, database_url):
    services = open_services(config.load(home=tmp_path, dags_folder=tmp_path, database_url=database_url))
    yield World(services)
    services.engine.dispose()


def iso(when: dt.datetime) -> str:
    return when.isoformat()
