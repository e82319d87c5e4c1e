"""PUT /parseDagFile/{file_token}: a durable request the DAG processor reads, and a wake-up on the bus."""

from sqlalchemy import select

from leoflow.api.dag_parsing import PARSE_QUEUE
from leoflow.store import audit
from leoflow.store.tables import log


def test_parse_dag_file_records_the_request_and_wakes_the_processor(client, services):
    token = client.get("/api/v2/dags/xcom3").json()["file_token"]  # the token the UI passes back
    resp = client.put(f"/api/v2/parseDagFile/{token}")
    assert resp.status_code == 201 and resp.json() is None
    with services.engine.connect() as conn:
        requests = audit.parse_requests(conn)
        row = conn.execute(select(log).where(log.c.event == "reparse_dag_file")).first()
    assert [f for _, f in requests] == ["/dags/xcom3.py"] and row.owner == "admin"
    events = services.bus.wait(PARSE_QUEUE, 0.1)
    assert events and events[0]["fileloc"] == "/dags/xcom3.py"
    assert client.put("/api/v2/parseDagFile/forged.token").json()["detail"] == "File not found"
