"""`leoflow db import-airflow URL`: what an Airflow 2.x/3.x installation keeps in its metadata database, copied
into Leoflow's (ADR 23): Variables, Connections (decrypted with Airflow's Fernet key, encrypted again with
Leoflow's), pools and login users (FAB's `ab_user`, with their Airflow passwords: Leoflow's login checks FAB's
werkzeug hashes, see the ADR).

The Airflow database is only read. Its tables are reflected, so the columns of every 2.x and 3.x schema are
taken as they come (`team_name`, `include_deferred` ...). What Leoflow already has is kept unless --overwrite.
"""

from __future__ import annotations

import os
import secrets

from .context import fail, shown_url

# FAB's roles, strongest first -> Leoflow's role
_ROLES = (("admin", "admin"), ("op", "op"), ("user", "user"), ("viewer", "viewer"))


def add_parser(db_sub) -> None:
    from .context import common_args

    q = db_sub.add_parser("import-airflow", help="copy Variables, Connections, pools and users from an Airflow "
                                                 "metadata database")
    q.add_argument("url", metavar="URL", help="the Airflow database's SQLAlchemy URL ([database] sql_alchemy_conn)")
    q.add_argument("--fernet-key", help="Airflow's [core] fernet_key, as --fernet-key=KEY (default: "
                                        "AIRFLOW__CORE__FERNET_KEY, else the fernet_key of $AIRFLOW_HOME/airflow.cfg)")
    q.add_argument("--overwrite", action="store_true", help="replace what Leoflow already has of the same name")
    q.add_argument("--with-history", action="store_true",
                   help="also copy the finished DAG runs and their task instances (states and dates)")
    common_args(q)
    q.set_defaults(func=run)


def _source_engine(url: str):
    from sqlalchemy import create_engine, text

    from leoflow.store.engine import normalize_url

    if url.startswith("sqlite:///") and not os.path.isfile(url[len("sqlite:///"):]):
        raise fail(f"no Airflow database file {url[len('sqlite:///'):]}")
    try:
        engine = create_engine(normalize_url(url))
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any driver error: one line
        from .context import unreachable

        message = str(unreachable(url, exc)).replace("the database", "the Airflow database", 1)
        raise fail(message.rsplit(", or set LEOFLOW_DATABASE_URL", 1)[0]) from None
    return engine


def _airflow_key(args) -> str | None:
    if args.fernet_key:
        return args.fernet_key
    if os.environ.get("AIRFLOW__CORE__FERNET_KEY"):
        return os.environ["AIRFLOW__CORE__FERNET_KEY"]
    from leoflow.config import airflow_cfg

    return airflow_cfg().get(("core", "fernet_key")) or None


class _Decrypter:
    def __init__(self, key: str | None, url: str):
        self.key = key
        self.url = url
        self._crypt = None

    def __call__(self, token: str | None, what: str) -> str | None:
        if token is None:
            return None
        if not self.key:
            raise fail(f"{what} in the Airflow database {shown_url(self.url)} is encrypted: give Airflow's "
                       f"[core] fernet_key with --fernet-key")
        if self._crypt is None:
            from leoflow.secrets.fernet import Crypt, FernetKeyError

            try:
                self._crypt = Crypt([k for k in self.key.split(",") if k.strip()])
            except FernetKeyError as exc:
                raise fail(f"--fernet-key: {exc.message}") from None
        from cryptography.fernet import InvalidToken

        try:
            return self._crypt.decrypt(token)
        except InvalidToken:
            raise fail(f"the Fernet key given does not decrypt {what} of the Airflow database: give Airflow's "
                       f"[core] fernet_key with --fernet-key") from None


def _tables(engine) -> dict:
    from sqlalchemy import MetaData

    meta = MetaData()
    names = ("variable", "connection", "slot_pool", "ab_user", "ab_role", "ab_user_role", "alembic_version",
             "dag_run", "task_instance")
    from sqlalchemy import inspect

    present = set(inspect(engine).get_table_names())
    meta.reflect(engine, only=[n for n in names if n in present])
    return meta.tables


def run(args) -> int:
    from sqlalchemy import select

    from .context import open_store

    source = _source_engine(args.url)
    tables = _tables(source)
    if "variable" not in tables or "connection" not in tables or "slot_pool" not in tables:
        raise fail(f"{shown_url(args.url)} is not an Airflow metadata database (it has no variable, connection "
                   f"and slot_pool tables)")
    if "leoflow_user" in _table_names(source):
        raise fail(f"{shown_url(args.url)} is a Leoflow database, not Airflow's: nothing to import")
    from .context import settings

    target = settings(args).database_url
    if _same_database(target, args.url):
        s = settings(args)
        where = (f"[database] sql_alchemy_conn of {s.airflow_cfg_path}"
                 if "[database] sql_alchemy_conn" in s.airflow_cfg_used and not os.environ.get("LEOFLOW_DATABASE_URL")
                 else "the configuration")
        raise fail(f"{shown_url(args.url)} is also the database Leoflow is configured to use (from {where}): set "
                   f"LEOFLOW_DATABASE_URL to Leoflow's own database, or unset it for the home's SQLite")
    decrypt = _Decrypter(_airflow_key(args), args.url)
    with source.connect() as src:  # everything is read (and decrypted) before Leoflow's database is touched
        variables = [(m["key"], decrypt(m["val"], f"variable {m['key']!r}") if m.get("is_encrypted") else m["val"],
                      m.get("description"))  # no description before Airflow 2.1
                     for m in (r._mapping for r in src.execute(select(tables["variable"])))]
        connections = [_connection(r, decrypt) for r in src.execute(select(tables["connection"]))]
        pools = [r._mapping for r in src.execute(select(tables["slot_pool"]))]
        users = _users(src, tables)
        history = _history(src, tables) if args.with_history else None
    services = open_store(args)
    lines = []
    with services.engine.begin() as conn:
        lines.append(_put_variables(conn, variables, services.crypt, args.overwrite))
        lines.append(_put_connections(conn, connections, services.crypt, args.overwrite))
        lines.append(_put_pools(conn, pools, args.overwrite))
        user_line, must_reset = _put_users(conn, users, args.overwrite)
        lines.append(user_line)
        if history is not None:
            lines.append(_put_history(conn, history))
    source.dispose()
    print(f"Imported from {shown_url(args.url)} into {shown_url(services.settings.database_url)}:")
    for line in lines:
        print(f"  {line}")
    if must_reset:
        print(f"No password Leoflow's login can check came from Airflow for {', '.join(must_reset)}: give them one "
              f"with `leoflow users reset-password --username NAME` before they log in.")
    services.bus.notify_scheduler(kind="pool_changed")  # a running scheduler sees the pools at once
    return 0


def _same_database(a: str, b: str) -> bool:
    from sqlalchemy.engine import make_url

    from leoflow.store.engine import normalize_url

    try:
        x, y = make_url(normalize_url(a)), make_url(normalize_url(b))
    except Exception:  # noqa: BLE001 - an unreadable URL is not the same as another
        return False
    if x.get_backend_name() == "sqlite" and y.get_backend_name() == "sqlite":
        return bool(x.database) and os.path.realpath(x.database) == os.path.realpath(y.database or "")
    return (x.host, x.port, x.database) == (y.host, y.port, y.database) and x.get_backend_name() == y.get_backend_name()


def _table_names(engine) -> set:
    from sqlalchemy import inspect

    return set(inspect(engine).get_table_names())


def _connection(row, decrypt) -> dict:
    m = row._mapping
    values = {f: m.get(f) for f in ("conn_type", "description", "host", "schema", "login", "port")}
    values["password"] = (decrypt(m["password"], f"connection {m['conn_id']!r}'s password")
                          if m.get("is_encrypted") else m.get("password"))
    values["extra"] = (decrypt(m["extra"], f"connection {m['conn_id']!r}'s extra")
                       if m.get("is_extra_encrypted") else m.get("extra"))
    values["conn_type"] = values["conn_type"] or "generic"
    return {"conn_id": m["conn_id"], **values}


def _users(src, tables) -> list[dict] | None:
    """FAB's users with the strongest of their roles; None when the database has no `ab_user` (Airflow 3's
    simple auth manager keeps its users in a file)."""
    from sqlalchemy import select

    if "ab_user" not in tables:
        return None
    roles: dict = {}
    if "ab_user_role" in tables and "ab_role" in tables:
        ur, role = tables["ab_user_role"], tables["ab_role"]
        for user_id, name in src.execute(select(ur.c.user_id, role.c.name).join(role, role.c.id == ur.c.role_id)):
            roles.setdefault(user_id, []).append(str(name).lower())
    out = []
    for r in src.execute(select(tables["ab_user"])):
        m = r._mapping
        names = roles.get(m["id"], [])
        role = next((ours for fab, ours in _ROLES if fab in names), "viewer")
        out.append({"username": m["username"], "role": role, "first_name": m.get("first_name"),
                    "last_name": m.get("last_name"), "email": m.get("email"),
                    "active": m.get("active") is not False, "password": m.get("password")})
    return out


def _put_variables(conn, variables, crypt, overwrite) -> str:
    from leoflow.store import variables as store

    copied, kept = 0, []
    for key, value, description in variables:
        if store.get(conn, key) is not None and not overwrite:
            kept.append(key)
            continue
        store.put(conn, key, value if value is not None else "", description, crypt=crypt)
        copied += 1
    return _summary("Variables", copied, kept)


def _put_connections(conn, connections, crypt, overwrite) -> str:
    from leoflow.store import connections as store

    copied, kept = 0, []
    for c in connections:
        values = {k: v for k, v in c.items() if k != "conn_id"}
        if store.get(conn, c["conn_id"]) is not None:
            if not overwrite:
                kept.append(c["conn_id"])
                continue
            store.update_(conn, c["conn_id"], values, crypt=crypt)
        else:
            store.insert(conn, c["conn_id"], values, crypt=crypt)
        copied += 1
    return _summary("Connections", copied, kept)


def _put_pools(conn, pools, overwrite) -> str:
    from sqlalchemy import select, update

    from leoflow.store.pools import DEFAULT_POOL
    from leoflow.store.tables import slot_pool

    copied, kept = 0, []
    for p in pools:
        values = {"slots": int(p["slots"]) if p["slots"] is not None else 0, "description": p.get("description"),
                  "include_deferred": bool(p.get("include_deferred") or False)}
        exists = conn.execute(select(slot_pool.c.id).where(slot_pool.c.pool == p["pool"])).first() is not None
        if exists and not overwrite and p["pool"] != DEFAULT_POOL:  # Leoflow's default_pool is only a seed
            kept.append(p["pool"])
            continue
        if exists:
            conn.execute(update(slot_pool).where(slot_pool.c.pool == p["pool"]).values(**values))
        else:
            conn.execute(slot_pool.insert().values(pool=p["pool"], **values))
        copied += 1
    return _summary("Pools", copied, kept)


def _put_users(conn, users, overwrite) -> tuple[str, list[str]]:
    from leoflow.api.auth import hash_password
    from leoflow.store import users as store

    if users is None:
        return "Users: none (the database has no ab_user table: Airflow's simple auth manager keeps its users " \
               "in a file; create them with `leoflow users create`)", []
    copied, kept, inactive, must_reset, with_password = 0, [], [], [], 0
    for u in users:
        if not u["active"]:
            inactive.append(u["username"])
            continue
        existing = store.get_user(conn, u["username"])
        if existing is not None and not overwrite:
            kept.append(u["username"])
            continue
        details = {"first_name": u["first_name"], "last_name": u["last_name"], "email": u["email"]}
        if existing is not None:
            store.update_user(conn, u["username"], role=u["role"], **details)  # a password it has stays
        else:
            stored = _checkable(u["password"])
            if stored is None:
                # A random password nobody knows: the account exists with its role, and logs in once reset.
                stored = hash_password(secrets.token_urlsafe(24)).hex()
                must_reset.append(u["username"])
            else:
                with_password += 1
            store.create_user(conn, u["username"], u["role"], stored, **details)
        copied += 1
    line = _summary("Users", copied, kept, f" ({with_password} with their Airflow password)" if with_password else "")
    if inactive:
        line += f"; {len(inactive)} inactive in Airflow, not copied ({', '.join(inactive)})"
    return line, must_reset


def _checkable(password) -> str | None:
    """FAB's stored hash when Leoflow's login can check it (kept until the first login re-hashes it); None for
    none (a user of LDAP or OAuth) or a format it cannot (werkzeug's pre-2.3 `sha256$...`)."""
    from leoflow.api import fab_password_hashes

    if not isinstance(password, str) or len(password) > 256:
        return None
    try:
        fab_password_hashes.parse(password)
    except fab_password_hashes.UnknownHash:
        return None
    return password


def _summary(what: str, copied: int, kept: list[str], note: str = "") -> str:
    line = f"{what}: {copied} copied{note}"
    if kept:
        line += f", {len(kept)} already in Leoflow and kept ({', '.join(kept)}; --overwrite replaces them)"
    return line


# What a copied run keeps: the finished runs and their task instances, as records. Runs still queued or running
# are left behind (Leoflow's scheduler would take them up), and so are the references into Airflow's own
# DAG versions, backfills, jobs and triggers, which are not copied.
_FINISHED_RUNS = ("success", "failed")
_RUN_DROPPED = ("id", "created_dag_version_id", "backfill_id", "conf", "last_scheduling_decision")
_TI_DROPPED = ("dag_version_id", "queued_by_job_id", "trigger_id", "trigger_timeout", "executor_config",
               "next_method", "next_kwargs", "external_executor_id", "pid")


def _aware(value):
    """Airflow keeps UTC; SQLite gives it back without a zone."""
    import datetime as dt

    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value


def _conf(value):
    """A run's conf: JSON in Airflow 3 (text when SQLite reflects it), pickled by Airflow 2.x (not read)."""
    if isinstance(value, str):
        import json

        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, dict) else None


def _uuid(value) -> str | None:
    """Airflow 3's task-instance id (32 hex digits in SQLite, a UUID in Postgres) in Leoflow's dashed form."""
    import uuid

    try:
        return str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))) if value is not None else None
    except ValueError:
        return None


def _history(src, tables):
    """(runs, task instances) of the finished runs, as dicts of the columns Leoflow has."""
    from sqlalchemy import select

    from leoflow.store.tables import dag_run, task_instance

    if "dag_run" not in tables or "task_instance" not in tables:
        return [], []
    their_run, their_ti = tables["dag_run"], tables["task_instance"]
    run_columns = [c.name for c in dag_run.columns if c.name not in _RUN_DROPPED]
    runs = []
    for r in src.execute(select(their_run).where(their_run.c.state.in_(_FINISHED_RUNS))):
        m = r._mapping
        run = {c: _aware(m.get(c)) for c in run_columns if c in m}
        if "logical_date" not in m and "execution_date" in m:  # Airflow 2.x
            run["logical_date"] = _aware(m["execution_date"])
        run["run_after"] = run.get("run_after") or run.get("logical_date") or run.get("start_date") or \
            run.get("end_date")
        run["conf"] = _conf(m.get("conf"))
        run["clear_number"] = run.get("clear_number") or 0
        runs.append(run)
    copied = {(r["dag_id"], r["run_id"]) for r in runs}
    ti_columns = [c.name for c in task_instance.columns if c.name not in _TI_DROPPED]
    tis = []
    for r in src.execute(select(their_ti)):
        m = r._mapping
        if (m["dag_id"], m["run_id"]) not in copied:
            continue
        ti = {c: _aware(m.get(c)) for c in ti_columns if c in m}
        ti["id"] = _uuid(m.get("id"))
        for name, default in (("map_index", -1), ("try_number", 0), ("max_tries", 0), ("pool", "default_pool"),
                              ("pool_slots", 1), ("priority_weight", 1)):
            if ti.get(name) is None:
                ti[name] = default
        tis.append(ti)
    return runs, tis


def _put_history(conn, history) -> str:
    import uuid

    from sqlalchemy import or_, select

    from leoflow.store.tables import dag_run, task_instance

    runs, tis = history
    copied, kept = set(), 0
    for run in runs:
        clash = conn.execute(select(dag_run.c.id).where(dag_run.c.dag_id == run["dag_id"]).where(or_(
            dag_run.c.run_id == run["run_id"],
            dag_run.c.logical_date == run["logical_date"] if run.get("logical_date") is not None else False,
        ))).first()
        if clash is not None:
            kept += 1
            continue
        conn.execute(dag_run.insert().values(**run))
        copied.add((run["dag_id"], run["run_id"]))
    count = 0
    for ti in tis:
        if (ti["dag_id"], ti["run_id"]) in copied:
            conn.execute(task_instance.insert().values(**{**ti, "id": ti["id"] or str(uuid.uuid4())}))
            count += 1
    line = f"History: {len(copied)} finished DAG runs and {count} task instances copied"
    if kept:
        line += f", {kept} runs already in Leoflow kept"
    return line
