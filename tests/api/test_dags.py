from leoflow.api import serializers

from .conftest import add_dag, reference, serialized


def test_get_dag_matches_reference_shape(client, services):
    body = client.get("/api/v2/dags/xcom3").json()
    ref = reference("dag_xcom3.json")
    assert list(body) == list(ref)
    assert body["tags"] == ref["tags"]
    assert body["owners"] == ["airflow"] and body["relative_fileloc"] == "xcom3.py"
    assert body["last_parsed_time"].endswith("Z")
    token = serializers.read_file_token(services.settings.secret("jwt"), body["file_token"])
    assert token == {"bundle_name": "dags-folder", "relative_fileloc": "xcom3.py"}


def test_details_shape(client):
    body = client.get("/api/v2/dags/xcom3/details").json()
    ref = reference("dag_xcom3_details.json")
    assert list(body) == list(ref)
    assert list(body["latest_dag_version"]) == list(ref["latest_dag_version"])
    assert body["latest_dag_version"]["version_number"] == 1
    assert body["timezone"] == "UTC" and body["catchup"] is False and body["active_runs_count"] == 0


def test_unknown_dag_404(client):
    resp = client.get("/api/v2/dags/nope")
    assert resp.status_code == 404
    assert resp.json() == {"detail": "The Dag with ID: `nope` was not found"}
    assert client.get("/api/v2/dags/nope/details").status_code == 404


def test_list_filters_and_paging(client, services):
    add_dag(services, serialized("bash1", tags=("anchor", "bash")))
    add_dag(services, serialized("chain10", tags=("chain",)))
    body = client.get("/api/v2/dags").json()
    assert body["total_entries"] == 3
    assert [d["dag_id"] for d in body["dags"]] == ["bash1", "chain10", "xcom3"]
    assert list(body) == list(reference("dags.json"))

    ids = lambda **params: [d["dag_id"] for d in client.get("/api/v2/dags", params=params).json()["dags"]]
    assert ids(dag_id_pattern="ch") == ["chain10"]
    assert ids(dag_id_pattern="bash | xcom") == ["bash1", "xcom3"]
    assert ids(tags=["anchor"]) == ["bash1", "xcom3"]
    assert ids(tags=["anchor", "chain"]) == ["bash1", "chain10", "xcom3"]
    assert ids(tags=["anchor", "bash"], tags_match_mode="all") == ["bash1"]
    assert ids(order_by="-dag_id") == ["xcom3", "chain10", "bash1"]
    page = client.get("/api/v2/dags", params={"limit": 1, "offset": 1}).json()
    assert [d["dag_id"] for d in page["dags"]] == ["chain10"] and page["total_entries"] == 3

    client.patch("/api/v2/dags/chain10", json={"is_paused": True})
    assert ids(paused="true") == ["chain10"]
    assert ids(paused="false") == ["bash1", "xcom3"]


def test_list_bad_params_are_422_or_400(client):
    resp = client.get("/api/v2/dags", params={"limit": "ten", "paused": "maybe"})
    assert resp.status_code == 422
    assert [e["loc"] for e in resp.json()["detail"]] == [["query", "limit"], ["query", "paused"]]
    resp = client.get("/api/v2/dags", params={"offset": -1})
    assert resp.status_code == 422 and resp.json()["detail"][0]["type"] == "greater_than_equal"
    resp = client.get("/api/v2/dags", params={"order_by": "nonsense"})
    assert resp.status_code == 400 and "nonsense" in resp.json()["detail"]


def test_patch_pause_unpause_wakes_scheduler(client, services):
    resp = client.patch("/api/v2/dags/xcom3", json={"is_paused": True})
    assert resp.status_code == 200 and resp.json()["is_paused"] is True
    resp = client.patch("/api/v2/dags/xcom3", params={"update_mask": "is_paused"}, json={"is_paused": False})
    assert resp.json()["is_paused"] is False
    events = services.bus.wait("leoflow:scheduler:wake", 0.1)
    assert {"kind": "dag_unpaused", "dag_id": "xcom3"} in events


def test_patch_errors(client):
    resp = client.patch("/api/v2/dags/xcom3", json={})
    assert resp.status_code == 422
    assert resp.json()["detail"][0]["loc"] == ["body", "is_paused"]
    assert resp.json()["detail"][0]["type"] == "missing"
    resp = client.patch("/api/v2/dags/xcom3", json={"is_paused": True, "owner": "x"})
    assert resp.status_code == 422 and resp.json()["detail"][0]["loc"] == ["body", "owner"]
    resp = client.patch("/api/v2/dags/xcom3", content=b"{not json", headers={"content-type": "application/json"})
    assert resp.status_code == 422 and resp.json()["detail"][0]["type"] == "json_invalid"
    resp = client.patch("/api/v2/dags/xcom3", params={"update_mask": "description"}, json={"is_paused": True})
    assert resp.status_code == 400
    resp = client.patch("/api/v2/dags/nope", json={"is_paused": True})
    assert resp.status_code == 404


def test_import_errors(client, services):
    from leoflow.store import dags as store_dags

    assert client.get("/api/v2/importErrors").json() == reference("importerrors.json")
    with services.engine.begin() as conn:
        store_dags.set_import_error(conn, "/dags/broken.py", "Traceback ...\nSyntaxError: bad")
    body = client.get("/api/v2/importErrors").json()
    assert body["total_entries"] == 1
    err = body["import_errors"][0]
    assert list(err) == ["import_error_id", "timestamp", "filename", "bundle_name", "stack_trace"]
    assert err["filename"] == "/dags/broken.py" and err["bundle_name"] == "dags-folder"
    assert client.get(f"/api/v2/importErrors/{err['import_error_id']}").json() == err
    assert client.get("/api/v2/importErrors/999").status_code == 404
    assert client.get("/api/v2/importErrors/abc").status_code == 422
