"""PUT /parseDagFile/{file_token}: a durable request the DAG processor takes, and a wake-up on the bus.

That the processor then parses the file at once: tests/dagproc/test_reparse.py.
"""

from sqlalchemy import select

from leoflow.api.dag_parsing import PARSE_QUEUE
from leoflow.store import dags as store_dags, parse_requests
from leoflow.store.tables import log

from .conftest import login, make_client


def test_parse_dag_file_records_the_request_and_wakes_the_processor(db_services):
    with make_client(db_services) as client:
        client.headers.update(login(client))
        token = client.get("/api/v2/dags/xcom3").json()["file_token"]  # the token the UI passes back
        for _ in range(2):  # asked twice before the processor took it: one request
            resp = client.put(f"/api/v2/parseDagFile/{token}")
            assert resp.status_code == 201 and resp.json() is None
        with db_services.engine.begin() as conn:
            rows = conn.execute(select(log).where(log.c.event == "reparse_dag_file")).all()
            assert parse_requests.take(conn, "other-bundle") == []
            assert parse_requests.take(conn, store_dags.BUNDLE) == ["xcom3.py"]
            assert parse_requests.take(conn, store_dags.BUNDLE) == []  # taken means gone
        assert len(rows) == 2 and rows[0].owner == "admin"
        events = db_services.bus.wait(PARSE_QUEUE, 0.1)
        assert events and events[0]["fileloc"] == "/dags/xcom3.py"
        assert client.put("/api/v2/parseDagFile/forged.token").json()["detail"] == "File not found"
