"""Hostile input is a 4xx naming the field, never a 500: integers beyond BIGINT, NaN and Infinity, lone
surrogates, deep nesting, NUL characters, null where a date is required, duplicates in one bulk create,
unknown properties in bulk actions; and dates before year 1000 written as clients can read them."""

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from leoflow.web.ui import UiFiles, web_routes
from tests.api import openapi_check

from .conftest import login, make_client

BIG = 2**63  # one more than a BIGINT holds
TI = "/api/v2/dags/xcom3/dagRuns/r/taskInstances"


@pytest.fixture
def db_client(db_services):
    with make_client(db_services) as c:
        c.headers.update(login(c))
        yield c


def detail_locs(resp) -> list:
    return [item["loc"] for item in resp.json()["detail"]]


@pytest.mark.parametrize("method,url,body,loc", [
    ("GET", f"/api/v2/pools?offset={BIG}", None, ["query", "offset"]),
    ("GET", f"/api/v2/pools?limit={BIG}", None, ["query", "limit"]),
    ("GET", f"{TI}/transform/tries?map_index={-BIG - 1}", None, ["query", "map_index"]),
    ("GET", f"{TI}/transform/tries?map_index={BIG}", None, ["query", "map_index"]),
    ("GET", f"{TI}/transform/{BIG}", None, ["path", "map_index"]),
    ("GET", f"{TI}/transform/{BIG}/tries", None, ["path", "map_index"]),
    ("GET", f"{TI}/transform/logs/{BIG}", None, ["path", "try_number"]),
    ("GET", f"{TI}/transform/tries/{BIG}", None, ["path", "task_try_number"]),
    ("GET", f"/api/v2/dags/~/dagRuns/~/taskInstances?try_number={BIG}", None, ["query", "try_number"]),
    ("GET", f"/api/v2/dags/~/dagRuns/~/taskInstances?version_number={BIG}", None, ["query", "version_number"]),
    ("GET", f"/api/v2/dags/xcom3/dagVersions/{BIG}", None, ["path", "version_number"]),
    ("GET", f"/api/v2/dags/~/dagRuns?dag_version={BIG}", None, ["query", "dag_version"]),
    ("GET", f"/api/v2/eventLogs/{BIG}", None, ["path", "event_log_id"]),
    ("GET", f"/api/v2/importErrors/{BIG}", None, ["path", "import_error_id"]),
    ("GET", f"/api/v2/assets/{BIG}", None, ["path", "asset_id"]),
    ("GET", f"/api/v2/assets/aliases/{BIG}", None, ["path", "asset_alias_id"]),
    ("PUT", f"/api/v2/backfills/{BIG}/unpause", None, ["path", "backfill_id"]),
    ("POST", "/api/v2/pools", {"name": "p", "slots": BIG}, ["body", "slots"]),
    ("PATCH", "/api/v2/pools", {"actions": [{"action": "create", "entities": [{"name": "p", "slots": BIG}]}]},
     ["body", "actions", 0, "create", "entities", 0, "slots"]),
    ("POST", "/api/v2/assets/events", {"asset_id": BIG}, ["body", "asset_id"]),
])
def test_integers_beyond_bigint_are_422_naming_the_field(db_client, method, url, body, loc):
    resp = db_client.request(method, url, json=body)
    assert resp.status_code == 422, resp.text
    assert loc in detail_locs(resp)


@pytest.mark.parametrize("path", ["/api/v2/backfills", "/api/v2/backfills/dry_run"])
def test_a_backfill_without_an_end_date_is_422(client, path):
    resp = client.post(path, json={"dag_id": "xcom3", "from_date": "2026-01-01T00:00:00Z", "to_date": None})
    assert resp.status_code == 422, resp.text
    assert resp.json()["detail"] == [{"type": "datetime_type", "loc": ["body", "to_date"],
                                      "msg": "Input should be a valid datetime", "input": None}]


def test_duplicates_in_one_bulk_create_answer_as_airflow(db_client):
    """Pools and connections: Airflow inserts both, its unique key refuses the second, the request is a
    409 and keeps nothing. Variables: Airflow sets the key twice, both succeed, the last value stays."""
    pools = db_client.patch("/api/v2/pools", json={"actions": [
        {"action": "create", "entities": [{"name": "first", "slots": 1}]},
        {"action": "create", "entities": [{"name": "twice", "slots": 1}, {"name": "twice", "slots": 2}]}]})
    assert pools.status_code == 409, pools.text
    assert pools.json()["detail"]["reason"] == "Unique constraint violation"
    assert db_client.get("/api/v2/pools/first").status_code == 404  # nothing of the request was kept
    assert db_client.get("/api/v2/pools/twice").status_code == 404
    conns = db_client.patch("/api/v2/connections", json={"actions": [{"action": "create", "entities": [
        {"connection_id": "c", "conn_type": "http"}, {"connection_id": "c", "conn_type": "ftp"}]}]})
    assert conns.status_code == 409 and conns.json()["detail"]["reason"] == "Unique constraint violation"
    assert db_client.get("/api/v2/connections/c").status_code == 404
    variables = db_client.patch("/api/v2/variables", json={"actions": [{"action": "create", "entities": [
        {"key": "v", "value": "1"}, {"key": "v", "value": "2"}]}]})
    assert variables.status_code == 200, variables.text
    assert variables.json()["create"] == {"success": ["v", "v"], "errors": []}
    assert db_client.get("/api/v2/variables/v").json()["value"] == "2"
    # A name that exists, overwritten twice in one action, is two updates: fine, as in Airflow.
    assert db_client.post("/api/v2/pools", json={"name": "kept", "slots": 1}).status_code == 201
    again = db_client.patch("/api/v2/pools", json={"actions": [{"action": "create", "action_on_existence":
                                                                "overwrite", "entities": [
        {"name": "kept", "slots": 3}, {"name": "kept", "slots": 4}]}]})
    assert again.status_code == 200 and again.json()["create"]["success"] == ["kept", "kept"]
    assert db_client.get("/api/v2/pools/kept").json()["slots"] == 4


@pytest.mark.parametrize("raw", ['{"key": "k", "value": NaN}', '{"key": "k", "value": Infinity}',
                                 '{"key": "k", "value": -Infinity}', '{"key": "k", "value": 1e999}',
                                 "[" * 100_000, '{"key": "k", "value": ' + "[" * 5000 + "]" * 5000 + "}"])
def test_json_python_reads_but_no_json_holds_is_422(client, raw):
    resp = client.post("/api/v2/variables", content=raw, headers={"Content-Type": "application/json"})
    assert resp.status_code == 422, resp.text[:300]
    assert resp.json()["detail"][0]["type"] == "json_invalid"


def test_a_lone_surrogate_is_422_naming_the_field(client):
    resp = client.post("/api/v2/variables", content='{"key": "k\\ud800", "value": "v"}',
                       headers={"Content-Type": "application/json"})
    assert resp.status_code == 422, resp.text
    assert resp.json()["detail"][0]["loc"] == ["body", "key"]
    assert resp.json()["detail"][0]["type"] == "string_unicode"
    nested = client.post("/api/v2/variables", content='{"key": "k", "value": {"a": ["\\udfff"]}}',
                         headers={"Content-Type": "application/json"})
    assert nested.status_code == 422 and nested.json()["detail"][0]["loc"] == ["body", "value", "a", 0]


def test_a_nul_character_is_422_naming_the_field_on_both_databases(db_client):
    body = db_client.post("/api/v2/variables", json={"key": "a\x00b", "value": "v"})
    assert body.status_code == 422, body.text
    assert body.json()["detail"][0] == {"type": "string_nul", "loc": ["body", "key"],
                                        "msg": "String should not contain the NUL character", "input": "a\x00b"}
    pool = db_client.post("/api/v2/pools", json={"name": "p", "slots": 1, "description": "x\x00"})
    assert pool.status_code == 422 and detail_locs(pool) == [["body", "description"]]
    query = db_client.get("/api/v2/dags", params={"dag_id_pattern": "x\x00"})
    assert query.status_code == 422 and detail_locs(query) == [["query", "dag_id_pattern"]]
    path = db_client.get("/api/v2/variables/a%00b")
    assert path.status_code == 422 and detail_locs(path) == [["path", "variable_key"]]


def test_a_nul_in_a_static_path_is_404(tmp_path):
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<html></html>")
    (dist / "assets" / "x.js").write_text("1")
    with TestClient(Starlette(routes=web_routes(UiFiles(dist, None)))) as web:
        assert web.get("/static/assets/x.js").status_code == 200
        assert web.get("/static/index%00.html").status_code == 404
        assert web.get("/static/assets%00/x.js").status_code == 404


def test_dates_before_year_1000_are_zero_padded(client):
    resp = client.post("/api/v2/dags/xcom3/dagRuns", json={"logical_date": "0111-01-01T00:00:00Z",
                                                           "run_after": "0111-01-01T00:00:00.5Z"})
    assert resp.status_code == 200, resp.text
    run = resp.json()
    assert run["logical_date"] == "0111-01-01T00:00:00Z" and run["run_after"] == "0111-01-01T00:00:00.500000Z"
    listing = client.get("/api/v2/dags/~/dagRuns")
    assert openapi_check.validate_response(openapi_check.public_doc(), "get_dag_runs", 200, listing.json()) == []
    out_of_range = client.post("/api/v2/dags/xcom3/dagRuns", json={"logical_date": "0001-01-01T00:00:00+01:00"})
    assert out_of_range.status_code == 422 and detail_locs(out_of_range) == [["body", "logical_date"]]


@pytest.mark.parametrize("path,action,loc", [
    ("/api/v2/pools", {"action": "create", "entities": [{"name": "p", "slots": 1}], "bogus": 1},
     ["body", "actions", 0, "create", "bogus"]),
    ("/api/v2/pools", {"action": "create", "entities": [{"name": "p", "slots": 1, "bogus": 1}]},
     ["body", "actions", 0, "create", "entities", 0, "bogus"]),
    ("/api/v2/variables", {"action": "delete", "entities": ["v"], "update_mask": ["value"]},
     ["body", "actions", 0, "delete", "update_mask"]),
    (TI, {"action": "update", "entities": [{"task_id": "transform", "new_state": "success"}], "bogus": 1},
     ["body", "actions", 0, "update", "bogus"]),
    (TI, {"action": "update", "entities": [{"task_id": "transform", "bogus": 1}]},
     ["body", "actions", 0, "update", "entities", 0, "bogus"]),
    (TI, {"action": "delete", "entities": [{"task_id": "transform"}], "action_on_non_existence": "maybe"},
     ["body", "actions", 0, "delete", "action_on_non_existence"]),
])
def test_bulk_actions_refuse_unknown_properties(client, path, action, loc):
    resp = client.patch(path, json={"actions": [action]})
    assert resp.status_code == 422, resp.text
    assert loc in detail_locs(resp)


def test_text_longer_than_airflow_allows_is_422(client):
    run = client.post("/api/v2/dags/xcom3/dagRuns", json={"logical_date": None, "dag_run_id": "r"})
    assert run.status_code == 200
    key = client.post(f"{TI}/transform/xcomEntries", json={"key": "k" * 513, "value": 1})
    assert key.status_code == 422 and detail_locs(key) == [["body", "key"]]
    note = client.patch("/api/v2/dags/xcom3/dagRuns/r", json={"note": "n" * 1001})
    assert note.status_code == 422 and detail_locs(note) == [["body", "note"]]
    ti_note = client.patch(f"{TI}/transform", json={"note": "n" * 1001})
    assert ti_note.status_code == 422 and detail_locs(ti_note) == [["body", "note"]]
