"""Real Airflow 3.2.1 metadata databases for the `leoflow db import-airflow` tests, and what an import of one
must give. Made by Airflow's own CLI (`airflow db migrate`, `variables set`, `connections add` with a password,
`pools set`, a `dags test` run, and with the FAB auth manager `users create`), on SQLite and on Postgres; made
once per machine and kept beside the Airflow venvs (keyed by what makes them), each test module working on a
copy."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

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


class AirflowDb:
    """An Airflow home (its airflow.cfg holds the Fernet key its commands used), its DAG folder, and its
    database: the home's airflow.db, or the Postgres database `url` names."""

    def __init__(self, root, url: str | None = None):
        self.home = root / "airflow"
        self.dags = root / "airflow-dags"
        self.path = self.home / "airflow.db"
        self.url = url or f"sqlite:///{self.path}"
        cfg = (self.home / "airflow.cfg").read_text()
        self.key = next(line.split("=", 1)[1].strip() for line in cfg.splitlines()
                        if line.startswith("fernet_key"))

    def copy(self, tmp_path) -> "AirflowDb":
        """A copy a test may change, beside its own airflow.cfg (SQLite only)."""
        other = tmp_path / "airflow-copy"
        shutil.copytree(self.home.parent, other)
        return AirflowDb(other)

    def query(self, sql: str) -> list[tuple]:
        from sqlalchemy import create_engine, text

        from leoflow.store.engine import normalize_url

        engine = create_engine(normalize_url(self.url))
        try:
            with engine.connect() as conn:
                return [tuple(r) for r in conn.execute(text(sql))]
        finally:
            engine.dispose()

    def revision(self) -> str:
        return self.query("SELECT version_num FROM alembic_version")[0][0]

    def snapshot(self) -> bytes:
        """Everything the database holds, to tell that an import only read it."""
        if self.url.startswith("sqlite:"):
            return self.path.read_bytes()
        dump = subprocess.run(["pg_dump", "--no-owner", "--no-privileges", libpq_url(self.url)], check=True,
                              capture_output=True, timeout=120).stdout
        # without the random key of pg_dump's `\restrict` lines, new in each dump
        return b"\n".join(line for line in dump.splitlines() if not line.startswith((b"\\restrict", b"\\unrestrict")))


def libpq_url(url: str) -> str:
    """The URL as psql and pg_dump take it (no SQLAlchemy driver name)."""
    return re.sub(r"^postgresql\+\w+://", "postgresql://", url)


def cached(name: str, what: str, make, marker: str = "airflow/airflow.db") -> Path:
    """A folder made once per machine by `make(folder)` and kept beside the Airflow venvs, `name` keyed by
    what makes it (a half-made one is never used)."""
    from tests.airflow_runner.conftest import CACHE

    made = CACHE / f"{name}-{hashlib.sha256(what.encode()).hexdigest()[:12]}"
    if not (made / marker).exists():
        building = made.with_name(f"{made.name}.building-{os.getpid()}")
        shutil.rmtree(building, ignore_errors=True)
        make(building)
        shutil.rmtree(made, ignore_errors=True)
        os.replace(building, made)
    return made


def moved(made, root):
    """A copy of the cached folder `made` in `root`, its airflow.cfg's paths moved with it."""
    shutil.copytree(made, root, dirs_exist_ok=True)
    cfg = root / "airflow" / "airflow.cfg"
    cfg.write_text(re.sub(re.escape(str(made)) + r"(\.building-\d+)?", str(root), cfg.read_text()))
    return root


def airflow_env(root, **extra) -> dict:
    return {"PATH": "/usr/bin:/bin", "HOME": str(root), "AIRFLOW_HOME": str(root / "airflow"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "AIRFLOW__CORE__DAGS_FOLDER": str(root / "airflow-dags"),
            **extra}


def run_airflow(python: str, env: dict, args: tuple) -> None:
    proc = subprocess.run([python, "-m", "airflow", *args], capture_output=True, text=True, env=env, timeout=300,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, f"airflow {' '.join(args)}: {proc.stdout[-1500:]} {proc.stderr[-1500:]}"


def make_airflow_db(airflow_python, root, **env) -> None:
    """COMMANDS in a new Airflow home in `root`, on its SQLite unless `env` names another database."""
    (root / "airflow").mkdir(parents=True)
    (root / "airflow-dags").mkdir()
    (root / "airflow-dags" / "hello.py").write_text(DAG)
    for args in COMMANDS:
        run_airflow(airflow_python, airflow_env(root, **env), args)
    shutil.rmtree(root / "airflow" / "logs", ignore_errors=True)


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


def add_fab_users(airflow_fab_python, root, **env) -> None:
    """FAB's tables and FAB_USERS, by Airflow's FAB auth manager, in the Airflow home in `root`."""
    for step_env, args in fab_commands(airflow_env(root, **env), root):
        run_airflow(airflow_fab_python, step_env, args)
    shutil.rmtree(root / "airflow" / "logs", ignore_errors=True)


FAB_KEY = repr((FAB_USERS, FAB_SQL, FAB_AUTH_MANAGER, DAG, COMMANDS))  # what the cached FAB databases are made of
FAB_USERS_LINE = "  Users: 4 copied (3 with their Airflow password); 1 inactive in Airflow, not copied (old)"
FAB_RESET_LINE = ("No password Leoflow's login can check came from Airflow for sha: give them one with "
                  "`leoflow users reset-password --username NAME` before they log in.")
NO_USERS_LINE = ("  Users: none (the database has no ab_user table: Airflow's simple auth manager keeps its users "
                 "in a file; create them with `leoflow users create`)")


def check_import(cli, airflow: AirflowDb, users_line: str = NO_USERS_LINE, trailer: tuple = ()) -> None:
    """Import everything (with the history) and read it back through Leoflow's commands; import again, then
    with --overwrite."""
    before = airflow.snapshot()
    out = cli.ok("db", "import-airflow", airflow.url, f"--fernet-key={airflow.key}", "--with-history")
    assert out.splitlines() == [f"Imported from {airflow.url} into {cli.shown_url}:",
                                "  Variables: 2 copied",
                                "  Connections: 2 copied",
                                "  Pools: 2 copied",
                                users_line,
                                "  History: 1 finished DAG runs and 2 task instances copied", *trailer]
    assert airflow.snapshot() == before  # Airflow's database is only read

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
            Fernet(airflow.key).decrypt(token.encode())

    # The run Airflow's `dags test` made, once the DAG folder holding its file is parsed.
    run_id = airflow.query("SELECT run_id FROM dag_run WHERE dag_id = 'hello'")[0][0]
    cli.ok("dags", "list", "--dags-folder", str(airflow.dags))
    runs = cli.json("dags", "list-runs", "hello")
    assert [(r["run_id"], r["state"]) for r in runs] == [(run_id, "success")]
    states = cli.json("tasks", "states-for-dag-run", "hello", run_id)
    assert sorted((t["task_id"], t["state"]) for t in states) == [("a", "success"), ("b", "success")]
    from leoflow.store.tables import task_instance

    with cli.engine.connect() as conn:
        ours = sorted(r.id for r in conn.execute(select(task_instance)))
    theirs = sorted(str(uuid.UUID(str(r[0]))) for r in airflow.query("SELECT id FROM task_instance"))
    assert ours == theirs  # Airflow's ids, in Leoflow's dashed form

    # Again: what Leoflow has is kept, unless --overwrite (a changed variable comes back from Airflow).
    cli.ok("variables", "set", "plain", "changed in Leoflow")
    again = cli.ok("db", "import-airflow", airflow.url, f"--fernet-key={airflow.key}", "--with-history")
    assert again.splitlines()[1:4] == [
        "  Variables: 0 copied, 2 already in Leoflow and kept (plain, nested; --overwrite replaces them)",
        "  Connections: 0 copied, 2 already in Leoflow and kept (pg, web; --overwrite replaces them)",
        "  Pools: 1 copied, 1 already in Leoflow and kept (etl; --overwrite replaces them)"]
    assert again.splitlines()[-1] == "  History: 0 finished DAG runs and 0 task instances copied, 1 runs already " \
                                     "in Leoflow kept"
    assert cli.ok("variables", "get", "plain") == "changed in Leoflow\n"
    cli.ok("db", "import-airflow", airflow.url, f"--fernet-key={airflow.key}", "--overwrite")
    assert cli.ok("variables", "get", "plain") == "text\n"


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


def check_fab_users(cli, airflow: AirflowDb) -> None:
    """After an import of FAB_USERS: their roles, and their Airflow passwords log in (once re-hashed, too)."""
    fab_hashes = dict(airflow.query("SELECT username, password FROM ab_user"))
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
