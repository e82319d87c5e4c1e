"""End to end on a real `leoflow lite`: a task that prints the secrets it read leaves only *** in its log,
while it got the decrypted values to work with."""

from pathlib import Path

import pytest

from tests.e2e.lite_process import Lite

DAG = '''
from airflow.sdk import dag, task, Variable, Connection
from airflow.providers.standard.operators.bash import BashOperator


@dag(dag_id="leaky", schedule=None, catchup=False)
def leaky():
    @task
    def show():
        password = Variable.get("db_password")
        conn = Connection.get("warehouse")
        print(f"variable={password} conn={conn.password} extra={conn.extra_dejson['api_token']}")
        print("lengths", len(password), len(conn.password))
        print("plain", Variable.get("color"))

    show() >> BashOperator(task_id="echo", bash_command="echo token {{ var.value.db_password }}")


leaky()
'''


@pytest.fixture
def lite(tmp_path):
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "leaky.py").write_text(DAG)
    (tmp_path / "home").mkdir()
    server = Lite(tmp_path / "home", dags).start()
    yield server
    server.stop()


def test_task_log_masks_what_the_task_read(lite):
    assert lite.api("POST", "/api/v2/variables", json={"key": "db_password", "value": "hunter2-xyz"}).status_code == 201
    assert lite.api("POST", "/api/v2/variables", json={"key": "color", "value": "bluegreen"}).status_code == 201
    r = lite.api("POST", "/api/v2/connections", json={
        "connection_id": "warehouse", "conn_type": "postgres", "password": "pw-987654",
        "extra": '{"api_token": "tok-555555"}'})
    assert r.status_code == 201, r.text
    run = lite.trigger("leaky")
    done = lite.wait_for_run("leaky", run["dag_run_id"], timeout=60)
    assert done["state"] == "success", lite.output()
    logs = list(Path(lite.home, "logs").rglob("attempt=1.log"))
    text = "".join(p.read_text() for p in logs if "task_id=show" in str(p))
    assert "variable=*** conn=*** extra=***" in text
    assert "lengths 11 9" in text  # the task itself had the clear values
    assert "plain bluegreen" in text  # a variable whose name is not sensitive is not masked
    assert "hunter2-xyz" not in text and "pw-987654" not in text and "tok-555555" not in text
    echo = lite.api("GET", f"/api/v2/dags/leaky/dagRuns/{run['dag_run_id']}/taskInstances/echo").json()
    assert echo["rendered_fields"]["bash_command"] == "echo token ***"  # rendered templates are masked too
    assert "token ***" in "".join(p.read_text() for p in logs if "task_id=echo" in str(p))
    # The values are encrypted at rest in the server's database too.
    db = Path(lite.home, "leoflow.db").read_bytes()
    assert b"hunter2-xyz" not in db and b"pw-987654" not in db
