"""`leoflow db import-airflow` against a real Airflow 3.2.1 metadata database on SQLite (`tests/cli/airflow_db.py`),
copied into Leoflow on SQLite (lite) and on Postgres (a server), and read back through Leoflow's commands.
Airflow's database, and its generated airflow.cfg, are also what the "this is Airflow's database" errors are
checked with. The same from Airflow on Postgres: test_import_airflow_postgres.py."""

from __future__ import annotations

import base64
import os
import sqlite3
import subprocess

import pytest

from tests.airflow_runner.conftest import airflow_fab_python, airflow_python  # noqa: F401 - the venvs' fixtures
from tests.cli.airflow_db import (COMMANDS, DAG, FAB_KEY, FAB_RESET_LINE, FAB_SQL, FAB_USERS_LINE, AirflowDb,
                                  add_fab_users, cached, check_fab_users, check_import, make_airflow_db, moved)


@pytest.fixture(scope="module")
def airflow_db(airflow_python, tmp_path_factory):  # noqa: F811
    """Made once per machine (about 2.5 minutes of Airflow commands); each module works on a copy."""
    made = cached("airflow-3.2.1-db", DAG + repr(COMMANDS), lambda folder: make_airflow_db(airflow_python, folder))
    return AirflowDb(moved(made, tmp_path_factory.mktemp("airflow-db")))


@pytest.fixture(scope="module")
def airflow_fab_db(airflow_db, airflow_fab_python, tmp_path_factory):  # noqa: F811
    """The Airflow database above with FAB's tables and users, added by Airflow's FAB auth manager."""
    def make(folder):
        moved(airflow_db.home.parent, folder)
        add_fab_users(airflow_fab_python, folder)
        with sqlite3.connect(folder / "airflow" / "airflow.db") as db:
            for sql in FAB_SQL:
                db.execute(sql.replace("repeat('ab', 32)", f"'{'ab' * 32}'"))

    made = cached("airflow-3.2.1-fab-db", FAB_KEY, make)
    return AirflowDb(moved(made, tmp_path_factory.mktemp("airflow-fab-db")))


@pytest.mark.timeout(600)
def test_import_copies_what_airflows_cli_added(cli, airflow_db):
    check_import(cli, airflow_db)


@pytest.mark.timeout(600)
def test_the_key_comes_from_airflow_cfg_and_mistakes_are_one_line(lite_cli, airflow_db, tmp_path):
    cli = lite_cli
    url = airflow_db.url

    def fails(*args, env=None):
        proc = cli.run("db", "import-airflow", *args, env=env)
        assert proc.returncode == 2 and proc.stdout == "", (proc.returncode, proc.stdout, proc.stderr)
        return proc.stderr

    assert fails(url) == (f"leoflow: variable 'plain' in the Airflow database {url} is encrypted: give Airflow's "
                          f"[core] fernet_key with --fernet-key\n")
    other = base64.urlsafe_b64encode(os.urandom(32)).decode()
    assert fails(url, f"--fernet-key={other}") == (
        "leoflow: the Fernet key given does not decrypt variable 'plain' of the Airflow database: give Airflow's "
        "[core] fernet_key with --fernet-key\n")
    assert fails(url, "--fernet-key=short").startswith("leoflow: --fernet-key: the Fernet key is malformed: it must "
                                                       "be 32 url-safe base64-encoded bytes")
    assert fails(f"sqlite:///{tmp_path}/nothing.db") == f"leoflow: no Airflow database file {tmp_path}/nothing.db\n"
    assert not (cli.home / "leoflow.db").exists()  # nothing was copied, nor Leoflow's database made
    cli.ok("variables", "list")  # now Leoflow's database exists: it is not an Airflow database
    assert fails(cli.database_url) == f"leoflow: {cli.database_url} is a Leoflow database, not Airflow's: nothing " \
                                      f"to import\n"
    sqlite3.connect(tmp_path / "other.db").execute("CREATE TABLE t (x INTEGER)").connection.close()
    assert fails(f"sqlite:///{tmp_path}/other.db") == (
        f"leoflow: sqlite:///{tmp_path}/other.db is not an Airflow metadata database (it has no variable, connection "
        f"and slot_pool tables)\n")

    # AIRFLOW_HOME names Airflow's home: its airflow.cfg gives Airflow's key, and its sql_alchemy_conn would make
    # Airflow's database Leoflow's own too, which the import refuses until Leoflow has its own.
    env = {"AIRFLOW_HOME": str(airflow_db.home)}
    assert fails(url, env=env) == (
        f"leoflow: {url} is also the database Leoflow is configured to use (from [database] sql_alchemy_conn of "
        f"{airflow_db.home / 'airflow.cfg'}): set LEOFLOW_DATABASE_URL to Leoflow's own database, or unset it for "
        f"the home's SQLite\n")
    out = cli.ok("db", "import-airflow", url, env={**env, "LEOFLOW_DATABASE_URL": cli.database_url})
    assert "  Variables: 2 copied\n" in out
    assert cli.ok("connections", "get", "web", "-o", "json").count('"password": "pw"') == 1


def test_an_airflow_database_given_as_leoflows_is_refused(lite_cli, airflow_db):
    cli = lite_cli
    url = airflow_db.url
    revision = airflow_db.revision()
    message = (f"leoflow: {url} is an Airflow metadata database (Airflow's revision {revision}), not Leoflow's: "
               f"give Leoflow a database of its own with LEOFLOW_DATABASE_URL and copy Airflow's Variables, "
               f"Connections, pools and users into it with `leoflow db import-airflow {url}`\n")
    before = airflow_db.path.read_bytes()
    for args in (("variables", "list"), ("db", "migrate"), ("db", "reset", "--yes"), ("db", "check-migrations"),
                 ("dags", "list")):
        proc = cli.run(*args, env={"LEOFLOW_DATABASE_URL": url})
        assert (proc.returncode, proc.stderr) == (2, message), args
    # Through airflow.cfg: its [database] sql_alchemy_conn is named as where the URL came from.
    proc = cli.run("variables", "list", env={"AIRFLOW_HOME": str(airflow_db.home)})
    assert (proc.returncode, proc.stderr) == (2, message.replace(
        f"{url} is", f"{url} (the [database] sql_alchemy_conn of {airflow_db.home / 'airflow.cfg'}) is"))
    assert airflow_db.path.read_bytes() == before  # neither migrated nor reset


@pytest.mark.timeout(900)
def test_fab_users_log_in_with_their_airflow_passwords(lite_cli, airflow_fab_db):
    """Airflow 3.2.1 with the FAB auth manager made the users (`airflow users create`); Leoflow's REST login
    takes their Airflow passwords and then keeps a hash of its own."""
    out = lite_cli.ok("db", "import-airflow", airflow_fab_db.url, f"--fernet-key={airflow_fab_db.key}")
    assert out.splitlines()[4:] == [FAB_USERS_LINE, FAB_RESET_LINE]
    check_fab_users(lite_cli, airflow_fab_db)


ENV_FILE = """\
# comments and blank lines are skipped

from_env=plain text
url=https://example.com/a?b=c
spaced= kept as written \n"""

YAML_FILE = """\
from_yaml: text
number: 5
listed: [1, two]
mapping:
  nested: {deep: true}
described:
  value: the value
  description: said in YAML
"""


@pytest.mark.timeout(600)
def test_variables_env_and_yaml_files_are_read_as_airflow_reads_them(lite_cli, airflow_db, airflow_python,  # noqa: F811
                                                                    tmp_path):
    """The same .env and .yaml files imported by real Airflow and by Leoflow give the same export, byte for byte
    (Leoflow starting from Airflow's own variables, copied by import-airflow)."""
    cli = lite_cli
    airflow = airflow_db.copy(tmp_path)
    env_file, yaml_file = tmp_path / "vars.env", tmp_path / "vars.yaml"
    env_file.write_text(ENV_FILE)
    yaml_file.write_text(YAML_FILE)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "AIRFLOW_HOME": str(airflow.home),
           "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    for args in (("import", str(env_file)), ("import", str(yaml_file)), ("export", str(tmp_path / "airflow.json"))):
        proc = subprocess.run([airflow_python, "-m", "airflow", "variables", *args], capture_output=True, text=True,
                              env=env, timeout=300, stdin=subprocess.DEVNULL)
        assert proc.returncode == 0, proc.stderr[-1500:]

    cli.ok("db", "import-airflow", airflow_db.url, f"--fernet-key={airflow_db.key}")
    assert cli.ok("variables", "import", str(env_file)) == "3 of 3 variables successfully updated.\n"
    assert cli.ok("variables", "import", str(yaml_file)) == "5 of 5 variables successfully updated.\n"
    ours = cli.ok("variables", "export", "-")
    assert ours == (tmp_path / "airflow.json").read_text()
    assert cli.ok("variables", "get", "spaced") == " kept as written \n"

    # And back: Leoflow's export imported again gives the same export.
    (tmp_path / "ours.json").write_text(ours)
    cli.ok("variables", "import", str(tmp_path / "ours.json"))
    assert cli.ok("variables", "export", "-") == ours


def test_variables_files_that_cannot_be_read_say_why(lite_cli, tmp_path):
    cli = lite_cli
    cases = {
        "twice.env": ("a=1\na=2\n", "line 2: 'a' is given twice"),
        "nokey.env": ("=1\n", "line 1: the key is empty"),
        "novalue.env": ("# note\na=\n", "line 2: the value is empty"),
        "noequals.env": ("just words\n", "line 1: expected KEY=VALUE"),
    }
    for name, (text, why) in cases.items():
        (tmp_path / name).write_text(text)
        proc = cli.run("variables", "import", str(tmp_path / name))
        assert (proc.returncode, proc.stderr) == (2, f"leoflow: variables file {tmp_path / name}, {why}\n"), name
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    (tmp_path / "empty.yml").write_text("\n")
    (tmp_path / "bad.yaml").write_text("a: [1\n")
    (tmp_path / "vars.txt").write_text("a=1\n")
    expected = {
        "list.yaml": f"leoflow: variables file {tmp_path / 'list.yaml'} must hold a YAML mapping of key -> value\n",
        "empty.yml": f"leoflow: variables file {tmp_path / 'empty.yml'} is empty\n",
        "vars.txt": "leoflow: Unsupported file format. The file must have one of the following extensions: "
                    ".env .json .yaml .yml\n",
    }
    for name, message in expected.items():
        proc = cli.run("variables", "import", str(tmp_path / name))
        assert (proc.returncode, proc.stderr) == (2, message), name
    proc = cli.run("variables", "import", str(tmp_path / "bad.yaml"))
    assert proc.returncode == 2 and proc.stderr.startswith(
        f"leoflow: variables file {tmp_path / 'bad.yaml'} is not valid YAML: while parsing a flow sequence")
    (tmp_path / "date.yaml").write_text("when: 2026-01-02\nok: fine\n")
    out = cli.ok("variables", "import", str(tmp_path / "date.yaml"))
    assert out == ("Variable import failed: TypeError('Object of type date is not JSON serializable')\n"
                   "1 of 2 variables successfully updated.\n1 variable(s) failed to be updated.\n")
    assert cli.json("variables", "list") == [{"key": "ok"}]
