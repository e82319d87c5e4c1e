"""Task tokens as Airflow 3.2's: a `workload` token only starts the try, the `execution` token it is
exchanged for is short-lived and reissued while the try runs, and no token outlives its try."""

import time

import jwt
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from leoflow import config
from leoflow.execution_api import endpoint, execution_routes, tokens
from leoflow.services import open_services
from leoflow.store import dags, runs, tis
from leoflow.store.types import utcnow

SERIALIZED = {"dag_id": "tok", "fileloc": "/dags/tok.py", "tasks": [
    {"task_id": t, "upstream": [], "downstream": []} for t in ("a", "b")]}


@pytest.fixture
def world(tmp_path, database_url, monkeypatch):
    monkeypatch.setattr(endpoint, "LIVE_RECHECK", 0.0)  # every request looks the try up again
    services = open_services(config.load(home=tmp_path, dags_folder=tmp_path, database_url=database_url))
    with services.engine.begin() as conn:
        v = dags.sync_dag(conn, SERIALIZED, source_code="", relative_fileloc="tok.py")
        run = runs.create_dag_run(conn, SERIALIZED, dag_version_id=v.version_id, run_type="manual",
                                  run_after=utcnow())
        rows = {r.task_id: r for r in tis.tis_of_run(conn, "tok", run["run_id"])}
        tis.set_scheduled(conn, [r.id for r in rows.values()], utcnow())
        for r in rows.values():
            tis.set_queued(conn, r.id, None, "LocalExecutor", utcnow())
    client = TestClient(Starlette(routes=[Mount("/execution", routes=execution_routes(services))]))
    yield client, services, {k: r.id for k, r in rows.items()}
    services.engine.dispose()


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def start(client, ti_id, token):
    return client.patch(f"/execution/task-instances/{ti_id}/run", headers=bearer(token), json={
        "state": "running", "hostname": "h", "unixname": "u", "pid": 7, "start_date": utcnow().isoformat()})


def claims_of(token):
    return jwt.decode(token, options={"verify_signature": False})


def test_a_workload_token_only_starts_the_try_and_is_exchanged_for_an_execution_token(world):
    client, services, ids = world
    secret = services.settings.secret("jwt-execution")
    workload = tokens.issue(secret, ids["a"], scope=tokens.WORKLOAD, try_number=1)
    assert client.get("/execution/variables/x", headers=bearer(workload)).status_code == 403
    refused = client.put(f"/execution/task-instances/{ids['a']}/heartbeat", headers=bearer(workload),
                         json={"hostname": "h", "pid": 7})
    assert refused.status_code == 403 and "workload" in refused.json()["detail"]
    started = start(client, ids["a"], workload)
    assert started.status_code == 200
    execution = started.headers["Refreshed-API-Token"]
    claims = claims_of(execution)
    assert claims["scope"] == "execution" and claims["sub"] == ids["a"] and claims["try_number"] == 1
    assert claims["exp"] - claims["iat"] == 600  # Airflow's jwt_expiration_time
    assert client.get("/execution/variables/x", headers=bearer(execution)).status_code == 404
    beat = client.put(f"/execution/task-instances/{ids['a']}/heartbeat", headers=bearer(execution),
                      json={"hostname": "h", "pid": 7})
    assert beat.status_code == 204 and "Refreshed-API-Token" not in beat.headers  # far from expiry


def test_unknown_scopes_and_expired_tokens_are_refused(world):
    client, services, ids = world
    secret = services.settings.secret("jwt-execution")
    odd = jwt.encode({"sub": ids["a"], "aud": tokens.AUDIENCE, "exp": int(time.time()) + 60, "scope": ["ti:self"]},
                     secret, algorithm=tokens.ALGORITHM)
    assert client.get("/execution/variables/x", headers=bearer(odd)).status_code == 403
    expired = jwt.encode({"sub": ids["a"], "aud": tokens.AUDIENCE, "exp": int(time.time()) - 60},
                         secret, algorithm=tokens.ALGORITHM)
    gone = client.get("/execution/variables/x", headers=bearer(expired))
    assert gone.status_code == 403 and "expired" in gone.json()["detail"]
    assert client.get("/execution/variables/x").status_code == 401


def test_a_token_near_its_expiry_is_reissued(world):
    client, services, ids = world
    secret = services.settings.secret("jwt-execution")
    assert start(client, ids["a"], tokens.issue(secret, ids["a"])).status_code == 200
    soon = tokens.issue(secret, ids["a"], lifetime=20, try_number=1)  # less than a fifth of 600 s left
    resp = client.get("/execution/variables/x", headers=bearer(soon))
    fresh = resp.headers["Refreshed-API-Token"]
    assert claims_of(fresh)["exp"] - time.time() > 590 and claims_of(fresh)["try_number"] == 1
    assert client.get("/execution/variables/x", headers=bearer(fresh)).status_code == 404


def test_no_token_outlives_its_try(world, monkeypatch):
    client, services, ids = world
    secret = services.settings.secret("jwt-execution")
    token = tokens.issue(secret, ids["a"], try_number=1)
    assert start(client, ids["a"], token).status_code == 200
    done = client.patch(f"/execution/task-instances/{ids['a']}/state", headers=bearer(token),
                        json={"state": "success", "end_date": utcnow().isoformat()})
    assert done.status_code == 204
    # Airflow's runner reports success, then runs the success callbacks: they may still read
    assert client.get("/execution/variables/x", headers=bearer(token)).status_code == 404
    monkeypatch.setattr(endpoint, "FINISHED_TRY_GRACE", 0.0)
    refused = client.get("/execution/variables/x", headers=bearer(token))
    assert refused.status_code == 403 and "finished" in refused.json()["detail"]
    assert client.get("/execution/connections/c", headers=bearer(token)).status_code == 403
    # the try's own routes still answer what Airflow answers a finished try: 409
    late = client.put(f"/execution/task-instances/{ids['a']}/heartbeat", headers=bearer(token),
                      json={"hostname": "h", "pid": 7})
    assert late.status_code == 409


def test_a_token_of_an_earlier_try_is_refused(world):
    client, services, ids = world
    secret = services.settings.secret("jwt-execution")
    first = tokens.issue(secret, ids["b"], try_number=1)
    assert client.get("/execution/variables/x", headers=bearer(first)).status_code == 404
    with services.engine.begin() as conn:  # the try failed and a retry began
        tis.finish_try(conn, ids["b"], "up_for_retry", only_if=("queued",))
        tis.set_scheduled(conn, [ids["b"]], utcnow())
    assert client.get("/execution/variables/x", headers=bearer(first)).status_code == 403
    second = tokens.issue(secret, ids["b"], try_number=2)
    assert client.get("/execution/variables/x", headers=bearer(second)).status_code == 404


def test_validate_inlets_and_outlets_takes_only_the_task_instances_own_token(world):
    client, services, ids = world
    secret = services.settings.secret("jwt-execution")
    path = f"/execution/task-instances/{ids['a']}/validate-inlets-and-outlets"
    assert client.get(path, headers=bearer(tokens.issue(secret, ids["b"]))).status_code == 403
    own = client.get(path, headers=bearer(tokens.issue(secret, ids["a"])))
    assert own.status_code == 200 and own.json() == {"inactive_assets": []}


def test_a_slow_starter_of_a_cleared_try_cannot_take_or_end_the_new_try(world):
    """A try cleared while its runner was still starting (a pod pulling its image) is queued again as the
    next try: the old runner's tokens neither start it nor report its end."""
    client, services, ids = world
    secret = services.settings.secret("jwt-execution")
    old = tokens.issue(secret, ids["b"], scope=tokens.WORKLOAD, try_number=1)
    with services.engine.begin() as conn:  # cleared while queued (state None, as api/clearing.py), then try 2
        conn.execute(tis.TI.update().where(tis.TI.c.id == ids["b"]).values(state=None))
        tis.set_scheduled(conn, [ids["b"]], utcnow())
        tis.set_queued(conn, ids["b"], None, "KubernetesExecutor", utcnow())
        assert tis.get_ti(conn, ids["b"]).try_number == 2
    assert start(client, ids["b"], old).status_code == 409
    new = start(client, ids["b"], tokens.issue(secret, ids["b"], scope=tokens.WORKLOAD, try_number=2))
    assert new.status_code == 200
    stale = tokens.issue(secret, ids["b"], try_number=1)
    ended = client.patch(f"/execution/task-instances/{ids['b']}/state", headers=bearer(stale),
                         json={"state": "failed", "end_date": utcnow().isoformat()})
    assert ended.status_code == 409
    with services.engine.connect() as conn:
        assert tis.get_ti(conn, ids["b"]).state == "running"
