"""The end-to-end provider DAGs, their Connections and what a run of each must leave behind.

One definition for both places they run: from source (test_provider_dags.py, the providers on
PYTHONPATH) and from the single executable (test_from_executable.py, the providers installed into the
home by `leoflow providers install`). Each DAG comes with the `AIRFLOW_CONN_*` variables it reads, the
Connections added through the REST API as a user adds them, and a check of a finished run.
"""

from __future__ import annotations

import base64
import json
import uuid
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

from tests.e2e.lite_process import Lite

from .servers import MARIADB

SQL_DAG = '''
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.providers.mysql.hooks.mysql import MySqlHook
from airflow.providers.postgres.hooks.postgres import PostgresHook
from airflow.sdk import DAG, task

with DAG("provider_sql", schedule=None):
    pg_write = SQLExecuteQueryOperator(
        task_id="pg_write", conn_id="pg_test",
        sql=["CREATE TABLE numbers (n integer)", "INSERT INTO numbers VALUES (1), (2), (39)"])
    pg_sum = SQLExecuteQueryOperator(task_id="pg_sum", conn_id="pg_test", sql="SELECT sum(n) FROM numbers")

    @task
    def pg_hook():
        hook = PostgresHook(postgres_conn_id="pg_test")
        return {"rows": hook.get_records("SELECT n FROM numbers ORDER BY n"),
                "first": hook.get_first("SELECT count(*) FROM numbers")}

    lite_sql = SQLExecuteQueryOperator(
        task_id="sqlite_sql", conn_id="sqlite_test",
        sql=["CREATE TABLE t (word text)", "INSERT INTO t VALUES ('provider'), ('code')",
             "SELECT group_concat(word, ' ') FROM t"])

    @task
    def mysql_hook():
        hook = MySqlHook(mysql_conn_id="maria_test")
        hook.run(["CREATE TABLE m (n INT)", "INSERT INTO m VALUES (20), (22)"], autocommit=True)
        return hook.get_first("SELECT SUM(n) FROM m")

    maria_sql = SQLExecuteQueryOperator(task_id="maria_sql", conn_id="maria_test", sql="SELECT COUNT(*) FROM m")

    pg_write >> pg_sum >> pg_hook()
    mysql_hook() >> maria_sql
'''

HTTP_DAG = '''
from airflow.providers.http.operators.http import HttpOperator
from airflow.providers.http.sensors.http import HttpSensor
from airflow.providers.redis.hooks.redis import RedisHook
from airflow.providers.smtp.hooks.smtp import SmtpHook
from airflow.providers.smtp.operators.smtp import EmailOperator
from airflow.sdk import DAG, task

with DAG("provider_http_smtp", schedule=None):
    ready = HttpSensor(task_id="wait_ready", http_conn_id="http_test", endpoint="ready", poke_interval=0.2,
                       timeout=30, mode="reschedule")
    deferred = HttpSensor(task_id="wait_deferred", http_conn_id="http_test", endpoint="later", poke_interval=0.2,
                          timeout=30, deferrable=True)  # waits in Leoflow's triggerer, the provider's trigger
    hello = HttpOperator(task_id="hello", http_conn_id="http_test", endpoint="hello", method="GET",
                         response_filter=lambda response: response.json()["greeting"])
    mail = EmailOperator(task_id="mail", conn_id="smtp_test", to="ops@example.org",
                         subject="run {{ run_id }}", html_content="<b>{{ ti.xcom_pull(task_ids='hello') }}</b>")

    @task
    def hook_mail():
        with SmtpHook(smtp_conn_id="smtp_test") as hook:
            hook.send_email_smtp(to=["hook@example.org"], subject="from the hook", html_content="hi")
        return "sent"

    @task
    def redis_hook(greeting):
        client = RedisHook(redis_conn_id="redis_test").get_conn()
        client.set("leoflow:greeting", greeting)
        return client.get("leoflow:greeting").decode()

    ready >> deferred >> hello >> mail >> hook_mail()
    redis_hook(hello.output)
'''

SSH_DAG = '''
from airflow.providers.sftp.operators.sftp import SFTPOperator
from airflow.providers.sftp.sensors.sftp import SFTPSensor
from airflow.providers.ssh.hooks.ssh import SSHHook
from airflow.providers.ssh.operators.ssh import SSHOperator
from airflow.sdk import DAG, task

with DAG("provider_ssh", schedule=None, params={"folder": ""}):
    write = SSHOperator(task_id="ssh_write", ssh_conn_id="ssh_test",
                        command="echo 'made over ssh' > {{ params.folder }}/remote.txt && echo written")
    wait = SFTPSensor(task_id="sftp_wait", sftp_conn_id="ssh_test", path="{{ params.folder }}/remote.txt",
                      poke_interval=0.2, timeout=30)
    fetch = SFTPOperator(task_id="sftp_get", ssh_conn_id="ssh_test", operation="get",
                         remote_filepath="{{ params.folder }}/remote.txt",
                         local_filepath="{{ params.folder }}/fetched.txt")

    @task
    def hook_exec():
        with SSHHook(ssh_conn_id="ssh_test").get_conn() as client:
            _, stdout, _ = client.exec_command("echo $((40 + 2))")
            return stdout.read().decode().strip()

    write >> wait >> fetch >> hook_exec()
'''

# file name -> DAG text, as written into a DAG folder
DAG_FILES = {"provider_sql.py": SQL_DAG, "provider_http_smtp.py": HTTP_DAG, "provider_ssh.py": SSH_DAG}


# --- the Connections: AIRFLOW_CONN_* for some, the REST API for the others ---

def sql_env(sqlite_file: Path, maria_db: str) -> dict:
    return {"AIRFLOW_CONN_SQLITE_TEST": json.dumps({"conn_type": "sqlite", "host": str(sqlite_file)}),
            "AIRFLOW_CONN_MARIA_TEST": f"mysql://{MARIADB['user']}@{MARIADB['host']}:{MARIADB['port']}/{maria_db}"}


def add_sql_connections(lite: Lite, pg_url: str) -> None:
    from sqlalchemy.engine import make_url

    pg = make_url(pg_url)
    add_connection(lite, connection_id="pg_test", conn_type="postgres", host=pg.host, port=pg.port,
                   login=pg.username, password=pg.password, schema=pg.database)


def http_env(smtp_port: int, r_url: str) -> dict:
    r = urlsplit(r_url)
    return {"AIRFLOW_CONN_REDIS_TEST": json.dumps({"conn_type": "redis", "host": r.hostname, "port": r.port,
                                                   "extra": {"db": int(r.path.strip("/"))}}),
            "AIRFLOW_CONN_SMTP_TEST": json.dumps({"conn_type": "smtp", "host": "127.0.0.1", "port": smtp_port,
                                                  "extra": {"disable_tls": True, "disable_ssl": True,
                                                            "from_email": "leoflow@example.org"}})}


def add_http_connections(lite: Lite, http_port: int) -> None:
    add_connection(lite, connection_id="http_test", conn_type="http", host="127.0.0.1", port=http_port,
                   schema="http")


def ssh_env(sshd) -> dict:
    return {"AIRFLOW_CONN_SSH_TEST": json.dumps({"conn_type": "ssh", "host": "127.0.0.1", "port": sshd.port,
                                                 "login": sshd.user, "extra": {"key_file": sshd.key_file,
                                                                               "no_host_key_check": True}})}


def add_connection(lite: Lite, **body) -> None:
    r = lite.api("POST", "/api/v2/connections", json=body)
    assert r.status_code == 201, r.text


# --- a run and what it left ---

def xcom(lite: Lite, dag_id: str, run_id: str, task_id: str):
    r = lite.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/return_value")
    assert r.status_code == 200, r.text
    from leoflow.scheduler.serde import decode

    return decode(r.json()["value"])  # rows are tuples, sums decimals: stored in Airflow's serde shapes


def states(lite: Lite, dag_id: str, run_id: str) -> dict:
    body = lite.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances").json()
    return {ti["task_id"]: ti["state"] for ti in body["task_instances"]}


def failure(lite: Lite, dag_id: str, run_id: str) -> str:
    """The states and the logs of the tasks that did not succeed (what a failed assertion shows)."""
    found = states(lite, dag_id, run_id)
    parts = [json.dumps(found)]
    for task_id, state in found.items():
        if state != "success":
            r = lite.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/1",
                         headers={"Accept": "application/x-ndjson"})
            parts.append(f"--- {task_id} ({state}):\n{r.text[-3000:]}")
    return "\n".join(parts + [lite.output()[-2000:]])


def run_to_success(lite: Lite, dag_id: str, conf: dict | None = None) -> str:
    """Trigger `dag_id`, wait for its run to finish, fail with the failed tasks' logs unless it succeeded."""
    run = lite.trigger(dag_id, dag_run_id=f"{dag_id}-{uuid.uuid4().hex[:6]}", **({"conf": conf} if conf else {}))
    final = lite.wait_for_run(dag_id, run["dag_run_id"], timeout=120)
    assert final["state"] == "success", failure(lite, dag_id, run["dag_run_id"])
    return run["dag_run_id"]


def check_sql(lite: Lite, run_id: str) -> None:
    assert xcom(lite, "provider_sql", run_id, "pg_sum") == [(42,)]
    assert xcom(lite, "provider_sql", run_id, "pg_hook") == {"rows": [(1,), (2,), (39,)], "first": (3,)}
    # a list of statements: one result each (no rows for CREATE and INSERT), as in Airflow
    assert xcom(lite, "provider_sql", run_id, "sqlite_sql") == [None, None, [("provider code",)]]
    assert xcom(lite, "provider_sql", run_id, "mysql_hook") == (Decimal(42),)
    assert xcom(lite, "provider_sql", run_id, "maria_sql") == ((2,),)  # MySQLdb: a tuple of rows


def check_http(lite: Lite, run_id: str, http, smtp, r_url: str) -> None:
    import redis

    dag = "provider_http_smtp"
    assert xcom(lite, dag, run_id, "hello") == "hello from the test server"
    # 404, 404, then 200: the sensor poked until the page was there
    assert [p for _, p, _ in http.requests if p.startswith("/ready")] == ["/ready"] * 3
    # the deferrable one: its own poke (404), then the provider's trigger in Leoflow's triggerer (404, 200)
    assert [p for _, p, _ in http.requests if p.startswith("/later")] == ["/later"] * 3
    tis = lite.api("GET", f"/api/v2/dags/{dag}/dagRuns/{run_id}/taskInstances").json()
    deferred = next(ti for ti in tis["task_instances"] if ti["task_id"] == "wait_deferred")
    assert deferred["state"] == "success" and deferred["try_number"] == 1
    log = lite.api("GET", f"/api/v2/dags/{dag}/dagRuns/{run_id}/taskInstances/wait_deferred/logs/1",
                   headers={"Accept": "application/x-ndjson"}).text
    assert "Pausing task as DEFERRED. trigger=airflow.providers.http.triggers.http.HttpSensorTrigger" in log
    assert xcom(lite, dag, run_id, "redis_hook") == "hello from the test server"
    assert redis.Redis.from_url(r_url).get("leoflow:greeting") == b"hello from the test server"
    assert [(m[0], m[1], m[2]["Subject"]) for m in smtp.messages] == [
        ("leoflow@example.org", ["ops@example.org"], f"run {run_id}"),
        ("leoflow@example.org", ["hook@example.org"], "from the hook")]
    html = next(part for part in smtp.messages[0][2].walk() if part.get_content_type() == "text/html")
    assert html.get_payload(decode=True).decode() == "<b>hello from the test server</b>"


def check_ssh(lite: Lite, run_id: str, files: Path) -> None:
    # SSHOperator pushes the command's output base64-encoded, as in Airflow
    assert base64.b64decode(xcom(lite, "provider_ssh", run_id, "ssh_write")).decode().strip() == "written"
    assert (files / "fetched.txt").read_text() == "made over ssh\n"
    assert xcom(lite, "provider_ssh", run_id, "hook_exec") == "42"
