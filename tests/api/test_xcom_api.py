"""XCom entries over the API: create, update, delete, get with stringify, list wildcards, and the errors."""

from .conftest import reference
from .seed import run_with_states

ENTRIES = "/api/v2/dags/xcom3/dagRuns/{run}/taskInstances/transform/xcomEntries"


def test_create_update_delete(client, services):
    run_id = run_with_states(client, services, {"transform": "success"})
    url = ENTRIES.format(run=run_id)
    made = client.post(url, json={"key": "answer", "value": {"n": 42}})
    assert made.status_code == 201, made.text
    body = made.json()
    assert list(body) == list(reference("xcomentry_xcom3_transform_return_value.json"))
    assert body["value"] == {"n": 42} and body["key"] == "answer"
    again = client.post(url, json={"key": "answer", "value": 1})
    assert again.status_code == 400 and "already exists" in again.json()["detail"]

    changed = client.patch(f"{url}/answer", json={"value": [1, 2]})
    assert changed.status_code == 200 and changed.json()["value"] == [1, 2]
    assert client.get(f"{url}/answer").json()["value"] == [1, 2]
    text = client.get(f"{url}/answer", params={"stringify": "true"}).json()
    assert text["value"] == "[1, 2]"

    listing = client.get("/api/v2/dags/~/dagRuns/~/taskInstances/~/xcomEntries",
                         params={"xcom_key_pattern": "answ"}).json()
    assert [e["key"] for e in listing["xcom_entries"]] == ["answer"]
    assert list(listing) == list(reference("xcomentries_xcom3_transform.json"))

    assert client.delete(f"{url}/answer").status_code == 204
    gone = client.get(f"{url}/answer")
    assert gone.status_code == 404 and "answer" in gone.json()["detail"]
    assert client.delete(f"{url}/answer").status_code == 404
    assert client.patch(f"{url}/answer", json={"value": 1}).status_code == 404


def test_xcom_errors_name_the_field(client, services):
    run_id = run_with_states(client, services, {"transform": "success"})
    url = ENTRIES.format(run=run_id)
    resp = client.post(url, json={"value": 1, "map_index": "first", "extra": True})
    assert resp.status_code == 422
    assert {tuple(e["loc"]) for e in resp.json()["detail"]} == {("body", "key"), ("body", "map_index"),
                                                                ("body", "extra")}
    assert client.patch(f"{url}/return_value", json={}).json()["detail"][0]["loc"] == ["body", "value"]
    nowhere = client.post(ENTRIES.format(run="nope"), json={"key": "k", "value": 1})
    assert nowhere.json()["detail"] == "Dag Run with ID: `nope` not found for dag: `xcom3`"
    ghost = client.post(url.replace("/transform/", "/ghost/"), json={"key": "k", "value": 1})
    assert ghost.json()["detail"] == "Task with ID: `ghost` not found in dag: `xcom3`"
    bad = client.get(f"{url}/return_value", params={"map_index": "x"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "map_index"]
