"""`leoflow lite` reads `AIRFLOW_VAR_*` and `AIRFLOW_CONN_*` as Airflow 3.2.1 does: in tasks and in DAG files
at parse time, before the Variables and Connections it stores."""

from .lite_process import Lite

ENV_DAG = '''
from airflow.sdk import DAG, Connection, Variable, task

AT_PARSE = Variable.get("greeting", default="unset")

with DAG("env_secrets", schedule=None):
    @task
    def read(templated):
        return {"at_parse": AT_PARSE, "in_task": Variable.get("greeting"), "stored_only": Variable.get("stored_only"),
                "host": Connection.get("warehouse").host, "templated": templated}

    read("{{ var.value.greeting }}")
'''


def test_environment_variables_and_connections_win_over_stored_ones(tmp_path):
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "env_secrets.py").write_text(ENV_DAG)
    (tmp_path / "home").mkdir()
    lite = Lite(tmp_path / "home", dags, env={"AIRFLOW_VAR_GREETING": "from the environment",
                                              "AIRFLOW_CONN_WAREHOUSE": "postgres://u:pw@db.from-env:5432/x"})
    lite.start()
    try:
        for key, value in (("greeting", "stored"), ("stored_only", "only stored")):
            r = lite.api("POST", "/api/v2/variables", json={"key": key, "value": value})
            assert r.status_code == 201, r.text
        r = lite.api("POST", "/api/v2/connections", json={"connection_id": "warehouse", "conn_type": "postgres",
                                                          "host": "db.stored"})
        assert r.status_code == 201, r.text
        run = lite.trigger("env_secrets")
        assert lite.wait_for_run("env_secrets", run["dag_run_id"])["state"] == "success", lite.output()
        xcom = lite.api("GET", f"/api/v2/dags/env_secrets/dagRuns/{run['dag_run_id']}/taskInstances/read/"
                               "xcomEntries/return_value").json()
        assert xcom["value"] == {"at_parse": "from the environment", "in_task": "from the environment",
                                 "stored_only": "only stored", "host": "db.from-env",
                                 "templated": "from the environment"}
    finally:
        lite.stop()
