"""`leoflow db import-airflow` against a real Airflow 3.2.1 metadata database: made by `airflow db migrate`, filled
through Airflow's own CLI (`variables set`, `connections add` with a password, `pools set`, a `dags test` run), then
copied into Leoflow on SQLite (lite) and on Postgres (a server), and read back through Leoflow's commands.
Airflow's database, and its generated airflow.cfg, are also what the "this is Airflow's database" errors are
checked with."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import sqlite3
import subprocess
import uuid

import pytest

from tests.airflow_runner.conftest import airflow_fab_python, airflow_python  # noqa: F401 - the venvs' fixtures

DAG = '''
import pendulum
from airflow.sdk import dag, task


@dag(schedule=None, start_date=pendulum.datetime(2026, 1, 1), catchup=False)
def hello():
    @task
    def a():
        print("hi")

    @task
    def b():
        print("there")

    a() >> b()


hello()
'''


class AirflowDb:
    def __init__(self, root):
        self.home = root / "airflow"
        self.dags = root / "airflow-dags"
        self.path = self.home / "airflow.db"
        self.url = f"sqlite:///{self.path}"
        cfg = (self.home / "airflow.cfg").read_text()
        self.key = next(line.split("=", 1)[1].strip() for line in cfg.splitlines()
                        if line.startswith("fernet_key"))

    def copy(self, tmp_path) -> "AirflowDb":
        """A copy a test may change (ab_user tables added), beside its own airflow.cfg."""
        other = tmp_path / "airflow-copy"
        shutil.copytree(self.home.parent, other)
        return AirflowDb(other)

    def revision(self) -> str:
        with sqlite3.connect(self.path) as db:
            return db.execute("SELECT version_num FROM alembic_version").fetchone()[0]


def _cached(name: str, what: str, make) -> "Path":
    """A folder made once per machine by `make(folder)` and kept beside the Airflow venvs, `name` keyed by
    what makes it (a half-made one is never used)."""
    import hashlib

    from tests.airflow_runner.conftest import CACHE

    made = CACHE / f"{name}-{hashlib.sha256(what.encode()).hexdigest()[:12]}"
    if not (made / "airflow" / "airflow.db").exists():
        building = made.with_name(f"{made.name}.building-{os.getpid()}")
        shutil.rmtree(building, ignore_errors=True)
        make(building)
        shutil.rmtree(made, ignore_errors=True)
        os.replace(building, made)
    return made


def _moved(made, root):
    """A copy of the cached folder `made` in `root`, its airflow.cfg's paths moved with it."""
    shutil.copytree(made, root, dirs_exist_ok=True)
    cfg = root / "airflow" / "airflow.cfg"
    cfg.write_text(re.sub(re.escape(str(made)) + r"(\.building-\d+)?", str(root), cfg.read_text()))
    return root


@pytest.fixture(scope="module")
def airflow_db(airflow_python, tmp_path_factory):  # noqa: F811
    """Made once per machine (about 2.5 minutes of Airflow commands); each module works on a copy."""
    made = _cached("airflow-3.2.1-db", DAG + repr(COMMANDS), lambda folder: _make(airflow_python, folder))
    return AirflowDb(_moved(made, tmp_path_factory.mktemp("airflow-db")))


COMMANDS = (
    ("db", "migrate"),  # writes airflow.cfg with a generated fernet_key, which the commands below use
    ("variables", "set", "plain", "text"),
    ("variables", "set", "--description", "a note", "nested", '{"a": [1, 2]}'),
    ("connections", "add", "pg", "--conn-uri", "postgres://u:p%40ss@db.example:5432/sales?sslmode=require"),
    ("connections", "add", "web", "--conn-type", "http", "--conn-host", "example.com", "--conn-password", "pw",
     "--conn-extra", '{"k": 1}'),
    ("pools", "set", "etl", "4", "ETL jobs"),
    ("dags", "test", "hello"),
)


def _make(airflow_python, root):
    home, dags = root / "airflow", root / "airflow-dags"
    home.mkdir(parents=True)
    dags.mkdir()
    (dags / "hello.py").write_text(DAG)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(root), "AIRFLOW_HOME": str(home),
           "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "AIRFLOW__CORE__DAGS_FOLDER": str(dags)}
    for args in COMMANDS:
        proc = subprocess.run([airflow_python, "-m", "airflow", *args], capture_output=True, text=True, env=env,
                              timeout=300, stdin=subprocess.DEVNULL)
        assert proc.returncode == 0, f"airflow {' '.join(args)}: {proc.stdout[-1500:]} {proc.stderr[-1500:]}"
    shutil.rmtree(home / "logs", ignore_errors=True)


def _run_id(airflow: AirflowDb) -> str:
    with sqlite3.connect(airflow.path) as db:
        return db.execute("SELECT run_id FROM dag_run WHERE dag_id = 'hello'").fetchone()[0]


@pytest.mark.timeout(600)
def test_import_copies_what_airflows_cli_added(cli, airflow_db):
    before = airflow_db.path.read_bytes()
    out = cli.ok("db", "import-airflow", airflow_db.url, f"--fernet-key={airflow_db.key}", "--with-history")
    assert out == (f"Imported from {airflow_db.url} into {cli.shown_url}:\n"
                   "  Variables: 2 copied\n"
                   "  Connections: 2 copied\n"
                   "  Pools: 2 copied\n"
                   "  Users: none (the database has no ab_user table: Airflow's simple auth manager keeps its users "
                   "in a file; create them with `leoflow users create`)\n"
                   "  History: 1 finished DAG runs and 2 task instances copied\n")
    assert airflow_db.path.read_bytes() == before  # Airflow's database is only read

    assert json.loads(cli.ok("variables", "export", "-")) == {"nested": {"value": {"a": [1, 2]},
                                                                         "description": "a note"},
                                                              "plain": "text"}
    pg = cli.json("connections", "get", "pg")[0]
    assert (pg["conn_type"], pg["host"], pg["schema"], pg["login"], pg["password"], pg["port"]) == \
        ("postgres", "db.example", "sales", "u", "p@ss", "5432")
    assert pg["extra_dejson"] == {"sslmode": "require"}
    web = cli.json("connections", "get", "web")[0]
    # Airflow without the HTTP provider stored the type as generic: copied as stored.
    assert (web["conn_type"], web["host"], web["password"]) == ("generic", "example.com", "pw")
    assert {p["pool"]: (p["slots"], p["description"]) for p in cli.json("pools", "list")} == \
        {"default_pool": ("128", "Default pool"), "etl": ("4", "ETL jobs")}

    # Encrypted again with Leoflow's key: Airflow's key reads none of the stored tokens.
    from cryptography.fernet import Fernet, InvalidToken
    from sqlalchemy import select

    from leoflow.store.tables import connection, variable

    with cli.engine.connect() as conn:
        tokens = [r.val for r in conn.execute(select(variable))]
        tokens += [r.password for r in conn.execute(select(connection))]
        tokens += [r.extra for r in conn.execute(select(connection).where(connection.c.conn_id == "web"))]
    assert sorted(cli.crypt.decrypt(t) for t in tokens) == sorted(["text", '{"a": [1, 2]}', "p@ss", "pw",
                                                                  '{"k": 1}'])
    for token in tokens:
        with pytest.raises(InvalidToken):
            Fernet(airflow_db.key).decrypt(token.encode())

    # The run Airflow's `dags test` made, once the DAG folder holding its file is parsed.
    run_id = _run_id(airflow_db)
    cli.ok("dags", "list", "--dags-folder", str(airflow_db.dags))
    runs = cli.json("dags", "list-runs", "hello")
    assert [(r["run_id"], r["state"]) for r in runs] == [(run_id, "success")]
    states = cli.json("tasks", "states-for-dag-run", "hello", run_id)
    assert sorted((t["task_id"], t["state"]) for t in states) == [("a", "success"), ("b", "success")]
    from leoflow.store.tables import task_instance

    with cli.engine.connect() as conn:
        ours = sorted(r.id for r in conn.execute(select(task_instance)))
    with sqlite3.connect(airflow_db.path) as db:
        theirs = sorted(str(uuid.UUID(r[0])) for r in db.execute("SELECT id FROM task_instance"))
    assert ours == theirs  # Airflow's ids, in Leoflow's dashed form

    # Again: what Leoflow has is kept, unless --overwrite (a changed variable comes back from Airflow).
    cli.ok("variables", "set", "plain", "changed in Leoflow")
    again = cli.ok("db", "import-airflow", airflow_db.url, f"--fernet-key={airflow_db.key}", "--with-history")
    assert again.splitlines()[1:4] == [
        "  Variables: 0 copied, 2 already in Leoflow and kept (plain, nested; --overwrite replaces them)",
        "  Connections: 0 copied, 2 already in Leoflow and kept (pg, web; --overwrite replaces them)",
        "  Pools: 1 copied, 1 already in Leoflow and kept (etl; --overwrite replaces them)"]
    assert again.splitlines()[-1] == "  History: 0 finished DAG runs and 0 task instances copied, 1 runs already " \
                                     "in Leoflow kept"
    assert cli.ok("variables", "get", "plain") == "changed in Leoflow\n"
    cli.ok("db", "import-airflow", airflow_db.url, f"--fernet-key={airflow_db.key}", "--overwrite")
    assert cli.ok("variables", "get", "plain") == "text\n"


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


# FAB's users as Airflow's own CLI makes them: scrypt (FAB's default with werkzeug 3) and pbkdf2 (what FAB wrote
# with werkzeug 2, asked for here through FAB's FAB_PASSWORD_HASH_METHOD in a webserver_config.py).
FAB_AUTH_MANAGER = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"
FAB_USERS = (  # username, role, password, hash method
    ("ada", "Admin", "ada's Airflow password", "scrypt"),
    ("vic", "Viewer", "vic-pw-2026", "pbkdf2:sha256"),
    ("old", "Op", "old-pw", "scrypt"),
    ("pat", "Public", "pat-pw", "scrypt"),
    ("sha", "User", "sha-pw", "scrypt"),
)
FAB_SQL = (  # what Airflow's CLI has no command for: a deactivated user, and one from werkzeug before 2.3
    "UPDATE ab_user SET active = false WHERE username = 'old'",
    "UPDATE ab_user SET password = 'sha256$salt$' || repeat('ab', 32) WHERE username = 'sha'",
)


def fab_commands(env: dict, root) -> list[tuple[dict, tuple]]:
    """(environment, `airflow` arguments) that add FAB's tables and FAB_USERS to the database `env` names."""
    fab = {**env, "AIRFLOW__CORE__AUTH_MANAGER": FAB_AUTH_MANAGER}
    steps = [(fab, ("db", "migrate"))]
    for name, role, password, method in FAB_USERS:
        config = root / f"fab-{method.replace(':', '-')}.py"
        config.write_text(f"FAB_PASSWORD_HASH_METHOD = {method!r}\n")
        steps.append(({**fab, "AIRFLOW__FAB__CONFIG_FILE": str(config)},
                      ("users", "create", "--username", name, "--password", password, "--role", role,
                       "--firstname", name.title(), "--lastname", role, "--email", f"{name}@example.com")))
    steps.append((fab, ("users", "add-role", "--username", "ada", "--role", "Viewer")))
    return steps


def run_airflow(python: str, env: dict, args: tuple) -> None:
    proc = subprocess.run([python, "-m", "airflow", *args], capture_output=True, text=True, env=env, timeout=300,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, f"airflow {' '.join(args)}: {proc.stdout[-1500:]} {proc.stderr[-1500:]}"


@pytest.fixture(scope="module")
def airflow_fab_db(airflow_db, airflow_fab_python, tmp_path_factory):  # noqa: F811
    """The Airflow database above with FAB's tables and users, added by Airflow's FAB auth manager."""
    def make(folder):
        _moved(airflow_db.home.parent, folder)
        env = {"PATH": "/usr/bin:/bin", "HOME": str(folder), "AIRFLOW_HOME": str(folder / "airflow"),
               "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
        for step_env, args in fab_commands(env, folder):
            run_airflow(airflow_fab_python, step_env, args)
        with sqlite3.connect(folder / "airflow" / "airflow.db") as db:
            for sql in FAB_SQL:
                db.execute(sql.replace("repeat('ab', 32)", f"'{'ab' * 32}'"))
        shutil.rmtree(folder / "airflow" / "logs", ignore_errors=True)

    made = _cached("airflow-3.2.1-fab-db", repr((FAB_USERS, FAB_SQL, FAB_AUTH_MANAGER, DAG, COMMANDS)), make)
    return AirflowDb(_moved(made, tmp_path_factory.mktemp("airflow-fab-db")))


def logs_in(cli, username: str, password: str) -> int:
    """POST /auth/token on Leoflow's REST API, served from the cli's home and database: the status code."""
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from leoflow import config
    from leoflow.api.app import api_routes
    from leoflow.services import open_services

    settings = config.load(home=cli.home, dags_folder=cli.home / "dags", database_url=cli.database_url)
    if cli.env.get("LEOFLOW_FERNET_KEY"):
        settings.fernet_key = cli.env["LEOFLOW_FERNET_KEY"]
    services = open_services(settings)
    try:
        app = Starlette(routes=api_routes(services))
        app.state.services = services
        with TestClient(app) as client:
            resp = client.post("/auth/token", json={"username": username, "password": password})
            assert resp.status_code in (201, 401), resp.text
            return resp.status_code
    finally:
        services.engine.dispose()


def stored_hash(cli, username: str) -> str:
    from sqlalchemy import select

    from leoflow.store.tables import user

    with cli.engine.connect() as conn:
        return conn.execute(select(user.c.password_hash).where(user.c.username == username)).scalar_one()


def check_fab_users_import(cli, airflow: "AirflowDb", fab_hashes: dict) -> None:
    """What a FAB users' import must give, from SQLite or Postgres: roles, and Airflow's passwords that log in."""
    out = cli.ok("db", "import-airflow", airflow.url, f"--fernet-key={airflow.key}")
    assert "  Users: 4 copied (3 with their Airflow password); 1 inactive in Airflow, not copied (old)\n" in out
    assert out.endswith("No password Leoflow's login can check came from Airflow for sha: give them one with "
                        "`leoflow users reset-password --username NAME` before they log in.\n")
    users = {u["username"]: (u["role"], u["email"]) for u in cli.json("users", "list")}
    assert users == {"ada": ("admin", "ada@example.com"), "vic": ("viewer", "vic@example.com"),
                     "pat": ("viewer", "pat@example.com"), "sha": ("user", "sha@example.com")}
    assert fab_hashes["ada"].startswith("scrypt:32768:8:1$") and fab_hashes["vic"].startswith("pbkdf2:sha256:")
    assert stored_hash(cli, "ada") == fab_hashes["ada"]  # copied as Airflow stored it
    passwords = {name: password for name, _, password, _ in FAB_USERS}
    for name in ("ada", "vic", "pat"):
        assert logs_in(cli, name, passwords[name] + "x") == 401
        assert logs_in(cli, name, passwords[name]) == 201, name
        # Re-hashed with Leoflow's own scheme at that login: FAB's hash is gone, the password still works.
        assert "$" not in stored_hash(cli, name) and len(stored_hash(cli, name)) == 96
        assert logs_in(cli, name, passwords[name]) == 201
    assert logs_in(cli, "sha", passwords["sha"]) == 401  # werkzeug's old salted sha256: not checked, must reset
    cli.ok("users", "reset-password", "--username", "sha", "--password", "new-sha-pw")
    assert logs_in(cli, "sha", "new-sha-pw") == 201


@pytest.mark.timeout(900)
def test_fab_users_log_in_with_their_airflow_passwords(lite_cli, airflow_fab_db):
    """Airflow 3.2.1 with the FAB auth manager made the users (`airflow users create`); Leoflow's REST login
    takes their Airflow passwords and then keeps a hash of its own."""
    with sqlite3.connect(airflow_fab_db.path) as db:
        fab_hashes = dict(db.execute("SELECT username, password FROM ab_user"))
    check_fab_users_import(lite_cli, airflow_fab_db, fab_hashes)


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
