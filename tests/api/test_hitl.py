"""Human-in-the-loop requests over the API: list, get, answer once, earlier tries; the 404/409/422s."""

from leoflow.store.tables import hitl_detail, hitl_detail_history, log, task_instance_history
from sqlalchemy import select

from .seed import T0, run_with_states, ti_row

TI = "/api/v2/dags/xcom3/dagRuns/{run}/taskInstances"


def ask(services, run_id, task_id="transform", **values):
    ti = ti_row(services, run_id, task_id)
    row = {"ti_id": ti.id, "options": ["Approve", "Reject"], "subject": "Ship it?", "body": "Rows: 200",
           "defaults": ["Reject"], "multiple": False, "params": {}, "assignees": None, "created_at": T0,
           "params_input": {}, **values}
    with services.engine.begin() as conn:
        conn.execute(hitl_detail.insert().values(**row))
    return ti


def test_list_get_and_answer_once(client, services):
    run_id = run_with_states(client, services, {"transform": "deferred"}, run_state="running")
    ask(services, run_id)
    listing = client.get(f"/api/v2/dags/~/dagRuns/~/hitlDetails", params={"response_received": "false"}).json()
    assert listing["total_entries"] == 1
    item = listing["hitl_details"][0]
    assert item["subject"] == "Ship it?" and item["task_instance"]["task_id"] == "transform"
    assert item["response_received"] is False and item["responded_by_user"] is None

    url = f"{TI.format(run=run_id)}/transform/-1/hitlDetails"
    assert client.get(url).json()["options"] == ["Approve", "Reject"]
    answered = client.patch(url, json={"chosen_options": ["Approve"], "params_input": {"why": "fine"}})
    assert answered.status_code == 200, answered.text
    assert answered.json()["responded_by"] == {"id": "admin", "name": "admin"}
    assert answered.json()["chosen_options"] == ["Approve"]
    after = client.get(url).json()
    assert after["response_received"] is True and after["params_input"] == {"why": "fine"}
    again = client.patch(url, json={"chosen_options": ["Reject"]})
    assert again.status_code == 409 and "already been updated" in again.json()["detail"]
    by_user = client.get(f"/api/v2/dags/xcom3/dagRuns/{run_id}/hitlDetails",
                         params={"responded_by_user_name": "admin"}).json()
    assert by_user["total_entries"] == 1
    with services.engine.connect() as conn:
        assert "update_hitl_detail" in conn.execute(select(log.c.event)).scalars().all()


def test_answer_errors(client, services):
    run_id = run_with_states(client, services, {"transform": "deferred", "load": None}, run_state="running")
    ask(services, run_id)
    url = f"{TI.format(run=run_id)}/transform/-1/hitlDetails"
    assert client.patch(url, json={}).json()["detail"][0]["loc"] == ["body", "chosen_options"]
    bad = client.patch(url, json={"chosen_options": ["Approve", "Reject"]})
    assert bad.status_code == 400
    assert client.patch(url, json={"chosen_options": ["Maybe"]}).status_code == 400
    none = client.get(f"{TI.format(run=run_id)}/load/-1/hitlDetails")
    assert none.status_code == 404 and "Human-in-the-loop" in none.json()["detail"]
    assert client.get(f"{TI.format(run=run_id)}/ghost/-1/hitlDetails").status_code == 404
    assigned = run_with_states(client, services, {"transform": "deferred"}, run_state="running")
    ask(services, assigned, assignees=[{"id": "7", "name": "someone"}])
    refused = client.patch(f"{TI.format(run=assigned)}/transform/-1/hitlDetails", json={"chosen_options": ["Approve"]})
    assert refused.status_code == 403


def test_earlier_tries(client, services):
    run_id = run_with_states(client, services, {"transform": "deferred"}, run_state="running")
    ti = ask(services, run_id)
    with services.engine.begin() as conn:
        history = {k: v for k, v in ti._mapping.items() if k != "id"}
        history.update(task_instance_id=ti.id, try_number=0, state="failed")
        hid = conn.execute(task_instance_history.insert().values(**history)).inserted_primary_key[0]
        conn.execute(hitl_detail_history.insert().values(
            ti_history_id=hid, options=["Approve"], subject="Old question", params={}, created_at=T0,
            params_input={}))
    base = f"{TI.format(run=run_id)}/transform/-1/hitlDetails/tries"
    current = client.get(f"{base}/1").json()
    assert current["subject"] == "Ship it?" and current["task_instance"]["try_number"] == 1
    older = client.get(f"{base}/0").json()
    assert older["subject"] == "Old question" and older["task_instance"]["state"] == "failed"
    assert client.get(f"{base}/5").status_code == 404
    assert client.get(f"{base}/x").json()["detail"][0]["loc"] == ["path", "try_number"]


def test_order_by_who_answered(client, services):
    from sqlalchemy import update

    run_id = run_with_states(client, services, {"transform": "deferred", "load": "deferred"}, run_state="running")
    for task_id, who in (("transform", "zoe"), ("load", "adam")):
        ti = ask(services, run_id, task_id=task_id)
        with services.engine.begin() as conn:
            conn.execute(update(hitl_detail).where(hitl_detail.c.ti_id == ti.id).values(
                responded_at=T0, responded_by={"id": who, "name": who}, chosen_options=["Approve"]))
    url = f"/api/v2/dags/xcom3/dagRuns/{run_id}/hitlDetails"
    names = [h["responded_by_user"]["name"] for h in
             client.get(url, params={"order_by": "responded_by_user_name"}).json()["hitl_details"]]
    assert names == ["adam", "zoe"]
    names = [h["responded_by_user"]["name"] for h in
             client.get(url, params={"order_by": "-responded_by_user_name"}).json()["hitl_details"]]
    assert names == ["zoe", "adam"]
