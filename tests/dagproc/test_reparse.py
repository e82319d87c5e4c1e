"""Unchanged files are parsed again: on request (PUT parseDagFile, at once) and every
`min_file_process_interval`, so a deleted DAG comes back and a file that failed on a
missing Variable recovers; a re-parse that finds nothing new writes no new version
and does not wake the scheduler.
"""

import threading
import time

import pytest
from sqlalchemy import func, select

from leoflow import config
from leoflow.bus.bus import SCHEDULER_QUEUE
from leoflow.dagproc.processor import DagProcessor, forkserver_parser
from leoflow.executors.forkserver import ForkServer
from leoflow.services import open_services
from leoflow.store import dags as dag_store, variables
from leoflow.store.tables import dag_version
from tests.api.conftest import PASSWORD, login, make_client

TWO_DAGS = '''
from airflow.sdk import dag, task

for name in ("first", "second"):
    @dag(dag_id=name, schedule=None)
    def make():
        @task
        def one():
            return 1
        one()

    make()
'''

NEEDS_VARIABLE = '''
from airflow.sdk import DAG, Variable

with DAG("from_variable", schedule=Variable.get("the_schedule")):
    pass
'''


@pytest.fixture(scope="module")
def forkserver():
    server = ForkServer.start()
    server.warm()
    yield server
    server.stop()


@pytest.fixture
def lite_like(tmp_path, forkserver):
    """The processor's loop in a thread and the REST API beside it, on one database and one bus."""
    made = []

    def start(interval: float):
        folder = tmp_path / "dags"
        folder.mkdir(exist_ok=True)
        settings = config.load(home=tmp_path / "home", dags_folder=folder, admin_password=PASSWORD)
        settings.min_file_process_interval = interval
        services = open_services(settings)
        proc = DagProcessor(services, forkserver_parser(forkserver), paused_by_default=False)
        thread = threading.Thread(target=proc.run_forever, daemon=True)
        client = make_client(services).__enter__()
        client.headers.update(login(client))
        made.append((proc, thread, services, client))
        return proc, folder, services, thread, client

    yield start
    for proc, thread, services, client in made:
        proc.stop.set()
        proc.wake.set()
        thread.join(10)
        client.__exit__(None, None, None)
        services.engine.dispose()


def wait_for(condition, seconds: float) -> float | None:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if condition():
            return time.monotonic() - started
        time.sleep(0.02)
    return None


def dag_exists(services, dag_id):
    def check():
        with services.engine.connect() as conn:
            row = dag_store.get_dag(conn, dag_id)
        return row is not None and not row.is_stale
    return check


def test_a_deleted_dag_comes_back_at_the_next_periodic_parse(lite_like):
    proc, folder, services, thread, client = lite_like(interval=1.0)
    (folder / "two.py").write_text(TWO_DAGS)
    thread.start()
    assert wait_for(dag_exists(services, "second"), 5)
    assert client.delete("/api/v2/dags/second").status_code == 204
    assert client.get("/api/v2/dags/second").status_code == 404
    back = wait_for(dag_exists(services, "second"), 4)
    assert back is not None, "the deleted DAG did not come back while its file is unchanged"
    assert client.get("/api/v2/dags/second").json()["is_stale"] is False


def test_put_parse_dag_file_brings_a_deleted_dag_back_at_once(lite_like):
    proc, folder, services, thread, client = lite_like(interval=30.0)  # Airflow's default: far away
    assert config.load().min_file_process_interval == 30.0
    (folder / "two.py").write_text(TWO_DAGS)
    thread.start()
    assert wait_for(dag_exists(services, "second"), 5)
    token = client.get("/api/v2/dags/second").json()["file_token"]
    assert client.delete("/api/v2/dags/second").status_code == 204
    time.sleep(0.3)
    assert not dag_exists(services, "second")()
    assert client.put(f"/api/v2/parseDagFile/{token}").status_code == 201  # "first" still names the file
    back = wait_for(dag_exists(services, "second"), 1.0)
    assert back is not None, "PUT parseDagFile did not parse the file again"


def test_a_file_that_failed_on_a_missing_variable_recovers(lite_like):
    proc, folder, services, thread, client = lite_like(interval=1.0)
    (folder / "needs.py").write_text(NEEDS_VARIABLE)
    thread.start()
    assert wait_for(lambda: client.get("/api/v2/importErrors").json()["total_entries"] == 1, 5)
    error_id = client.get("/api/v2/importErrors").json()["import_errors"][0]["import_error_id"]
    time.sleep(1.5)  # parsed again, failing the same way: the same import error, not a new one
    errors = client.get("/api/v2/importErrors").json()["import_errors"]
    assert [e["import_error_id"] for e in errors] == [error_id]
    with services.engine.begin() as conn:
        variables.put(conn, "the_schedule", "@daily", crypt=services.crypt)
    assert wait_for(dag_exists(services, "from_variable"), 4), "the file did not recover once the Variable existed"
    assert wait_for(lambda: client.get("/api/v2/importErrors").json()["total_entries"] == 0, 2)
    assert client.get("/api/v2/dags/from_variable").json()["timetable_summary"] is not None  # the Variable's


def test_a_periodic_parse_of_unchanged_files_writes_nothing_new_and_wakes_no_one(lite_like):
    proc, folder, services, thread, client = lite_like(interval=0.2)
    (folder / "two.py").write_text(TWO_DAGS)
    (folder / "needs.py").write_text(NEEDS_VARIABLE)
    thread.start()
    assert wait_for(dag_exists(services, "second"), 5)
    time.sleep(0.5)
    services.bus.wait(SCHEDULER_QUEUE, 0)  # what the first parses announced
    parses = proc.parse_count
    time.sleep(2.0)
    assert proc.parse_count - parses >= 4, "unchanged files were not parsed again"
    assert services.bus.wait(SCHEDULER_QUEUE, 0) == [], "an unchanged re-parse woke the scheduler"
    with services.engine.connect() as conn:
        versions = conn.execute(select(dag_version.c.dag_id, func.count()).group_by(dag_version.c.dag_id)).all()
        assert len(dag_store.import_errors(conn)) == 1
    assert sorted(versions) == [("first", 1), ("second", 1)]
