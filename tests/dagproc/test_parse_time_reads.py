"""DAG files may read Variables and Connections at their top level, as in Airflow 3.2 (read-only)."""

import pytest

from leoflow import config
from leoflow.dagproc.processor import DagProcessor, _InProcessParser, forkserver_parser
from leoflow.executors.forkserver import ForkServer
from leoflow.services import open_services
from leoflow.store import connections, dags as dag_store, variables
from leoflow.store.tables import import_error
from sqlalchemy import select

FROM_VARIABLES = '''
from airflow.sdk import DAG, Connection, Variable
from airflow.providers.standard.operators.bash import BashOperator

settings = Variable.get("etl_settings", deserialize_json=True)
warehouse = Connection.get("warehouse")
with DAG("from_variables", schedule=Variable.get("etl_schedule"), start_date=None,
         tags=[Variable.get("etl_team", default="nobody")]):
    BashOperator(task_id="load", bash_command=f"load --rows {settings['rows']} --host {warehouse.host}",
                 retries=settings["retries"], doc_md=f"rows {settings['rows']} from {warehouse.host}",
                 queue="decrypted" if warehouse.password == "s3cret" else "still encrypted")
'''

MISSING = '''
from airflow.sdk import DAG, Variable

with DAG("missing", schedule=Variable.get("not_there")):
    pass
'''

WRITES = '''
from airflow.sdk import DAG, Variable

Variable.set("written_at_parse", "1")
with DAG("writes", schedule=None):
    pass
'''


@pytest.fixture(scope="module")
def forkserver():
    server = ForkServer.start()
    yield server
    server.stop()


@pytest.fixture(params=["forkserver", "inprocess"])
def processor(request, tmp_path):
    folder = tmp_path / "dags"
    folder.mkdir()
    services = open_services(config.load(home=tmp_path / "home", dags_folder=folder))
    with services.engine.begin() as conn:
        variables.put(conn, "etl_settings", '{"rows": 500, "retries": 3}', crypt=services.crypt)
        variables.put(conn, "etl_schedule", "@daily", crypt=services.crypt)
        connections.insert(conn, "warehouse", {"conn_type": "postgres", "host": "db.internal",
                                               "password": "s3cret"}, crypt=services.crypt)
    if request.param == "forkserver":
        server = request.getfixturevalue("forkserver")
        parse = forkserver_parser(server)
    else:
        parse = _InProcessParser()
    yield DagProcessor(services, parse, paused_by_default=False), folder, services
    services.engine.dispose()


def test_schedule_and_task_args_come_from_variables(processor):
    proc, folder, services = processor
    (folder / "from_variables.py").write_text(FROM_VARIABLES)
    proc.refresh()
    with services.engine.connect() as conn:
        assert conn.execute(select(import_error.c.stacktrace)).all() == []
        _version, data = dag_store.latest_serialized(conn, "from_variables")
    assert data["schedule"]["kind"] == "cron" and data["schedule"]["preset"] == "@daily"
    assert data["tags"] == ["nobody"]  # a missing variable with a default
    (load,) = data["tasks"]
    assert load["retries"] == 3
    assert load["doc_md"] == "rows 500 from db.internal"
    assert load["queue"] == "decrypted"  # the password is stored encrypted; the file sees the clear text


def test_a_missing_variable_is_an_import_error_and_writes_are_refused(processor):
    proc, folder, services = processor
    (folder / "missing.py").write_text(MISSING)
    (folder / "writes.py").write_text(WRITES)
    proc.refresh()
    with services.engine.connect() as conn:
        assert dag_store.latest_serialized(conn, "missing") is None
        assert dag_store.latest_serialized(conn, "writes") is None
        assert variables.get(conn, "written_at_parse") is None
        errors = dict(conn.execute(select(import_error.c.filename, import_error.c.stacktrace)).all())
    missing = errors[str(folder / "missing.py")]
    assert "missing.py\", line 4" in missing
    assert "AirflowRuntimeError: VARIABLE_NOT_FOUND: {'message': 'Variable not_there not found'}" in missing
    assert "writes.py\", line 4" in errors[str(folder / "writes.py")]
