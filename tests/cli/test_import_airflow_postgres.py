"""`leoflow db import-airflow` from an Airflow 3.2.1 metadata database on Postgres, as a production Airflow keeps
it: made by Airflow's own CLI with the FAB auth manager on a database of the test's own (`airflow db migrate`,
Variables, Connections, a pool, a `dags test` run, `users create`), copied into Leoflow on SQLite and on
Postgres. What Postgres gives differently from SQLite (uuid and boolean columns, zoned timestamps, JSON
columns, bytea) goes through the same import."""

from __future__ import annotations

import subprocess

import pytest

from tests.airflow_runner.conftest import airflow_fab_python  # noqa: F401 - the fixture: Airflow 3.2.1 with FAB
from tests.cli.airflow_db import (FAB_KEY, FAB_RESET_LINE, FAB_SQL, FAB_USERS_LINE, AirflowDb, add_fab_users,
                                  cached, check_fab_users, check_import, libpq_url, make_airflow_db, moved)
from tests.services import postgres_database_url

DUMP = "airflow.sql"


def _psql(url: str, *args: str) -> None:
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", "-d", libpq_url(url), *args], check=True,
                   capture_output=True, timeout=120)


@pytest.fixture(scope="module")
def airflow_pg_db(airflow_fab_python, tmp_path_factory):  # noqa: F811
    """Airflow's commands run once per machine (about two minutes) on a database of their own, kept as a
    pg_dump beside the Airflow venvs; each module restores it into a fresh database of its own."""
    def make(folder):
        with postgres_database_url() as url:
            env = {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": url.replace("+psycopg://", "+psycopg2://", 1)}
            make_airflow_db(airflow_fab_python, folder, **env)
            add_fab_users(airflow_fab_python, folder, **env)
            for sql in FAB_SQL:
                _psql(url, "-c", sql)
            done = subprocess.run(["pg_dump", "--no-owner", "--no-privileges", "-f", str(folder / DUMP),
                                   libpq_url(url)], capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, done.stderr

    made = cached("airflow-3.2.1-postgres-db", FAB_KEY, make, marker=DUMP)
    root = moved(made, tmp_path_factory.mktemp("airflow-pg-db"))
    with postgres_database_url() as url:
        _psql(url, "-f", str(root / DUMP))
        # The URL as Airflow's [database] sql_alchemy_conn names it (Leoflow reads it through psycopg 3).
        yield AirflowDb(root, url.replace("+psycopg://", "+psycopg2://", 1))


@pytest.mark.timeout(900)
def test_import_from_postgres_copies_what_airflows_cli_added(cli, airflow_pg_db):
    assert airflow_pg_db.query("SELECT count(*) FROM ab_user") == [(5,)]
    check_import(cli, airflow_pg_db, users_line=FAB_USERS_LINE, trailer=(FAB_RESET_LINE,))
    check_fab_users(cli, airflow_pg_db)


def test_airflows_postgres_database_given_as_leoflows_is_refused(lite_cli, airflow_pg_db):
    """A server pointed at Airflow's own Postgres database by mistake neither migrates nor resets it."""
    url = airflow_pg_db.url
    message = (f"leoflow: {url} is an Airflow metadata database (Airflow's revision {airflow_pg_db.revision()}), "
               f"not Leoflow's: give Leoflow a database of its own with LEOFLOW_DATABASE_URL and copy Airflow's "
               f"Variables, Connections, pools and users into it with `leoflow db import-airflow {url}`\n")
    before = airflow_pg_db.snapshot()
    for args in (("variables", "list"), ("db", "migrate"), ("db", "reset", "--yes")):
        proc = lite_cli.run(*args, env={"LEOFLOW_DATABASE_URL": url})
        assert (proc.returncode, proc.stderr) == (2, message), args
    assert airflow_pg_db.snapshot() == before
