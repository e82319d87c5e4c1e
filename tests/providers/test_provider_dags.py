"""Provider operators and hooks in real DAG runs under `leoflow lite`, against real servers.

The providers are the real wheels (installed by leoflow.providers.install into the test cache); their
Connections come through the REST API or `AIRFLOW_CONN_*`, as a user would give them.
"""

from __future__ import annotations

import json
import sys
import textwrap
import uuid
from decimal import Decimal

import pytest

from tests.api.conftest import reference
from tests.e2e.lite_process import Lite
from tests.services import postgres_database_url, redis_url

from .servers import MARIADB, HttpServer, SmtpServer, mariadb_database

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


def _xcom(lite: Lite, dag_id: str, run_id: str, task_id: str):
    r = lite.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/return_value")
    assert r.status_code == 200, r.text
    from leoflow.scheduler.serde import decode

    return decode(r.json()["value"])  # rows are tuples, sums decimals: stored in Airflow's serde shapes


def _states(lite: Lite, dag_id: str, run_id: str) -> dict:
    body = lite.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances").json()
    return {ti["task_id"]: ti["state"] for ti in body["task_instances"]}


def _failure(lite: Lite, dag_id: str, run_id: str) -> str:
    """The states and the logs of the tasks that did not succeed (what a failed assertion shows)."""
    states = _states(lite, dag_id, run_id)
    parts = [json.dumps(states)]
    for task_id, state in states.items():
        if state != "success":
            r = lite.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/1",
                         headers={"Accept": "application/x-ndjson"})
            parts.append(f"--- {task_id} ({state}):\n{r.text[-3000:]}")
    return "\n".join(parts)


def _start(tmp_path, site, dag_file: str, text: str, env: dict) -> Lite:
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / dag_file).write_text(textwrap.dedent(text))
    (tmp_path / "home").mkdir()
    # from source (tests/providers/test_from_executable.py runs a provider DAG from the executable)
    return Lite(tmp_path / "home", dags, command=[sys.executable, "-m", "leoflow"],
                env={"PYTHONPATH": str(site), **env}).start()


def _add_connection(lite: Lite, **body) -> None:
    r = lite.api("POST", "/api/v2/connections", json=body)
    assert r.status_code == 201, r.text


@pytest.mark.timeout(600)
def test_sql_providers_on_postgres_sqlite_and_mariadb(tmp_path, everyday_site):
    from sqlalchemy.engine import make_url

    with postgres_database_url() as pg_url, mariadb_database() as maria_db:
        pg = make_url(pg_url)
        env = {"AIRFLOW_CONN_SQLITE_TEST": json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "data.db")}),
               "AIRFLOW_CONN_MARIA_TEST": f"mysql://{MARIADB['user']}@{MARIADB['host']}:{MARIADB['port']}/{maria_db}"}
        lite = _start(tmp_path, everyday_site, "provider_sql.py", SQL_DAG, env)
        try:
            # the Postgres connection through the REST API, as a user adds it
            _add_connection(lite, connection_id="pg_test", conn_type="postgres", host=pg.host, port=pg.port,
                            login=pg.username, password=pg.password, schema=pg.database)
            run = lite.trigger("provider_sql", dag_run_id=f"sql-{uuid.uuid4().hex[:6]}")
            final = lite.wait_for_run("provider_sql", run["dag_run_id"], timeout=120)
            assert final["state"] == "success", _failure(lite, "provider_sql", run["dag_run_id"])
            run_id = run["dag_run_id"]
            assert _xcom(lite, "provider_sql", run_id, "pg_sum") == [(42,)]
            assert _xcom(lite, "provider_sql", run_id, "pg_hook") == {"rows": [(1,), (2,), (39,)], "first": (3,)}
            # a list of statements: one result each (no rows for CREATE and INSERT), as in Airflow
            assert _xcom(lite, "provider_sql", run_id, "sqlite_sql") == [None, None, [("provider code",)]]
            assert _xcom(lite, "provider_sql", run_id, "mysql_hook") == (Decimal(42),)
            # the installed providers are listed as Airflow 3.2.1 lists them
            listed = {p["package_name"]: p for p in lite.api("GET", "/api/v2/providers").json()["providers"]}
            for expected in reference("providers.json")["providers"]:  # the same versions Airflow had
                assert listed[expected["package_name"]] == expected
            assert {"apache-airflow-providers-postgres", "apache-airflow-providers-mysql",
                    "apache-airflow-providers-sqlite", "apache-airflow-providers-http"} <= set(listed)
            # and their connection types in the UI's connection form, with their fields (smtp as Airflow's)
            r = lite.api("GET", "/ui/connections/hook_meta")
            assert r.status_code == 200, r.text
            forms = {h["connection_type"]: h for h in r.json()}
            expected = {h["connection_type"]: h for h in reference("ui_connections_hook_meta.json")}
            assert forms["smtp"] == expected["smtp"] and forms["fs"] == expected["fs"]
            assert list(forms)[:4] == ["generic", "email", "fs", "package_index"]
            assert forms["postgres"]["standard_fields"]["url_schema"] == {"hidden": False, "title": "Database",
                                                                         "placeholder": None}
            assert {"http", "mysql", "sqlite", "ssh", "sftp", "redis"} <= set(forms)
            assert _xcom(lite, "provider_sql", run_id, "maria_sql") == ((2,),)  # MySQLdb: a tuple of rows
        finally:
            lite.stop()


@pytest.mark.timeout(600)
def test_http_smtp_and_redis_providers_against_local_servers(tmp_path, everyday_site):
    from urllib.parse import urlsplit

    import redis

    with HttpServer(ready_after=2) as http, SmtpServer() as smtp, redis_url() as r_url:
        r = urlsplit(r_url)
        lite = _start(tmp_path, everyday_site, "provider_http_smtp.py", HTTP_DAG, {
            "AIRFLOW_CONN_REDIS_TEST": json.dumps({"conn_type": "redis", "host": r.hostname, "port": r.port,
                                                   "extra": {"db": int(r.path.strip("/"))}}),
            "AIRFLOW_CONN_SMTP_TEST": json.dumps({"conn_type": "smtp", "host": "127.0.0.1", "port": smtp.port,
                                                  "extra": {"disable_tls": True, "disable_ssl": True,
                                                            "from_email": "leoflow@example.org"}})})
        try:
            _add_connection(lite, connection_id="http_test", conn_type="http", host="127.0.0.1", port=http.port,
                            schema="http")
            run = lite.trigger("provider_http_smtp", dag_run_id=f"http-{uuid.uuid4().hex[:6]}")
            final = lite.wait_for_run("provider_http_smtp", run["dag_run_id"], timeout=120)
            assert final["state"] == "success", _failure(lite, "provider_http_smtp", run["dag_run_id"])
            run_id = run["dag_run_id"]
            assert _xcom(lite, "provider_http_smtp", run_id, "hello") == "hello from the test server"
            # 404, 404, then 200: the sensor poked until the page was there
            assert [p for _, p, _ in http.requests if p.startswith("/ready")] == ["/ready"] * 3
            # the deferrable one: its own poke (404), then the provider's trigger in Leoflow's triggerer (404, 200)
            assert [p for _, p, _ in http.requests if p.startswith("/later")] == ["/later"] * 3
            tis = lite.api("GET", f"/api/v2/dags/provider_http_smtp/dagRuns/{run_id}/taskInstances").json()
            deferred = next(ti for ti in tis["task_instances"] if ti["task_id"] == "wait_deferred")
            assert deferred["state"] == "success" and deferred["try_number"] == 1
            log = lite.api("GET", f"/api/v2/dags/provider_http_smtp/dagRuns/{run_id}/taskInstances/wait_deferred/"
                                  "logs/1", headers={"Accept": "application/x-ndjson"}).text
            assert _xcom(lite, "provider_http_smtp", run_id, "redis_hook") == "hello from the test server"
            assert redis.Redis.from_url(r_url).get("leoflow:greeting") == b"hello from the test server"
            assert "Pausing task as DEFERRED. trigger=airflow.providers.http.triggers.http.HttpSensorTrigger" in log
            assert [(m[0], m[1], m[2]["Subject"]) for m in smtp.messages] == [
                ("leoflow@example.org", ["ops@example.org"], f"run {run_id}"),
                ("leoflow@example.org", ["hook@example.org"], "from the hook")]
            html = next(part for part in smtp.messages[0][2].walk() if part.get_content_type() == "text/html")
            assert html.get_payload(decode=True).decode() == "<b>hello from the test server</b>"
        finally:
            lite.stop()


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


@pytest.mark.timeout(600)
def test_ssh_and_sftp_providers_against_a_local_sshd(tmp_path, everyday_site):
    import base64

    from .servers import SshServer

    with SshServer(tmp_path / "sshd") as sshd:
        files = tmp_path / "files"
        files.mkdir()
        lite = _start(tmp_path, everyday_site, "provider_ssh.py", SSH_DAG, {
            "AIRFLOW_CONN_SSH_TEST": json.dumps({"conn_type": "ssh", "host": "127.0.0.1", "port": sshd.port,
                                                 "login": sshd.user, "extra": {"key_file": sshd.key_file,
                                                                               "no_host_key_check": True}})})
        try:
            run = lite.trigger("provider_ssh", dag_run_id=f"ssh-{uuid.uuid4().hex[:6]}", conf={"folder": str(files)})
            final = lite.wait_for_run("provider_ssh", run["dag_run_id"], timeout=120)
            assert final["state"] == "success", _failure(lite, "provider_ssh", run["dag_run_id"])
            run_id = run["dag_run_id"]
            # SSHOperator pushes the command's output base64-encoded, as in Airflow
            assert base64.b64decode(_xcom(lite, "provider_ssh", run_id, "ssh_write")).decode().strip() == "written"
            assert (files / "fetched.txt").read_text() == "made over ssh\n"
            assert _xcom(lite, "provider_ssh", run_id, "hook_exec") == "42"
        finally:
            lite.stop()
