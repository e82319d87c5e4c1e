"""Provider operators and hooks in real DAG runs under `leoflow lite`, against real servers.

The providers are the real wheels (installed by leoflow.providers.install into the test cache); their
Connections come through the REST API or `AIRFLOW_CONN_*`, as a user would give them. The DAGs and their
checks are in provider_dags.py: test_from_executable.py runs the same ones from the single executable.
"""

from __future__ import annotations

import sys
import textwrap

import pytest

from tests.api.conftest import reference
from tests.e2e.lite_process import Lite
from tests.services import postgres_database_url, redis_url

from . import provider_dags as p
from .servers import HttpServer, SmtpServer, SshServer, mariadb_database


def _start(tmp_path, site, dag_file: str, env: dict) -> Lite:
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / dag_file).write_text(textwrap.dedent(p.DAG_FILES[dag_file]))
    (tmp_path / "home").mkdir()
    # from source: the providers on PYTHONPATH
    return Lite(tmp_path / "home", dags, command=[sys.executable, "-m", "leoflow"],
                env={"PYTHONPATH": str(site), **env}).start()


@pytest.mark.timeout(600)
def test_sql_providers_on_postgres_sqlite_and_mariadb(tmp_path, everyday_site):
    with postgres_database_url() as pg_url, mariadb_database() as maria_db:
        lite = _start(tmp_path, everyday_site, "provider_sql.py", p.sql_env(tmp_path / "data.db", maria_db))
        try:
            p.add_sql_connections(lite, pg_url)  # the Postgres connection through the REST API
            p.check_sql(lite, p.run_to_success(lite, "provider_sql"))
            # the installed providers are listed as Airflow 3.2.1 lists them
            listed = {d["package_name"]: d for d in lite.api("GET", "/api/v2/providers").json()["providers"]}
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
        finally:
            lite.stop()


@pytest.mark.timeout(600)
def test_http_smtp_and_redis_providers_against_local_servers(tmp_path, everyday_site):
    with HttpServer(ready_after=2) as http, SmtpServer() as smtp, redis_url() as r_url:
        lite = _start(tmp_path, everyday_site, "provider_http_smtp.py", p.http_env(smtp.port, r_url))
        try:
            p.add_http_connections(lite, http.port)
            p.check_http(lite, p.run_to_success(lite, "provider_http_smtp"), http, smtp, r_url)
        finally:
            lite.stop()


@pytest.mark.timeout(600)
def test_ssh_and_sftp_providers_against_a_local_sshd(tmp_path, everyday_site):
    with SshServer(tmp_path / "sshd") as sshd:
        files = tmp_path / "files"
        files.mkdir()
        lite = _start(tmp_path, everyday_site, "provider_ssh.py", p.ssh_env(sshd))
        try:
            p.check_ssh(lite, p.run_to_success(lite, "provider_ssh", conf={"folder": str(files)}), files)
        finally:
            lite.stop()
