"""`leoflow config get-value|list`, `info`, `jobs check`, `db check-migrations` and `cheat-sheet`."""

from __future__ import annotations

import argparse
import sys
import time

from .context import common_args, fail, output_arg, settings, shown_url
from .output import print_rows

SECRET_SETTINGS = {"fernet_key", "secret_key", "admin_password", "metrics_token"}
MASK = "< hidden >"


# --- config ---------------------------------------------------------------------------------------------

def _setting_for(section: str, key: str) -> str | None:
    """The Settings name a section/key means: `leoflow NAME`, or Airflow's `[section] key` that Leoflow reads."""
    from leoflow.config import _ENV

    if section.lower() == "leoflow":
        return key.lower() if key.lower() in _ENV else None
    airflow_var = f"AIRFLOW__{section.upper()}__{key.upper()}"
    return next((name for name, (_env, aliases, _kind) in _ENV.items() if airflow_var in aliases), None)


def _value_text(name: str, value) -> str:
    if value is None:
        return ""
    if name == "database_url":
        return shown_url(str(value))
    return str(value)


def config_get_value(args) -> int:
    name = _setting_for(args.section, args.option)
    if name is None:
        print(f"The option [{args.section}/{args.option}] is not found in config.", file=sys.stderr)
        return 1
    value = getattr(settings(args), name)
    print("" if value is None else value)  # as Airflow: the value itself, secrets included (it was asked for)
    return 0


def config_list(args) -> int:
    from leoflow.config import _ENV

    s = settings(args)
    if args.section and args.section.lower() != "leoflow":
        raise fail(f"Leoflow's settings are all in section [leoflow] (Airflow's names are read from the "
                   f"environment too: `leoflow config get-value {args.section} KEY`)")
    print("[leoflow]")
    for name, (env, aliases, _kind) in _ENV.items():
        value = getattr(s, name, None)
        shown = MASK if name in SECRET_SETTINGS and value else _value_text(name, value)
        also = f", {', '.join(aliases)}" if aliases else ""
        if args.include_descriptions or args.include_env_vars:
            print(f"# {env}{also}")
        print(f"{name} = {shown}")
    return 0


# --- info -----------------------------------------------------------------------------------------------

def info(args) -> int:
    import platform

    from leoflow import __version__

    s = settings(args)
    mode = "lite" if s.database_url.startswith("sqlite") else "server"
    bus = ("redis" if s.redis_url else "postgres (LISTEN/NOTIFY)" if mode == "server" else "memory (in lite)")
    rows = [
        ("leoflow version", __version__), ("airflow compatibility", "3.2"), ("mode", mode),
        ("home", s.home), ("dags_folder", s.dags_folder), ("logs_folder", s.logs_folder),
        ("database", shown_url(s.database_url)), ("bus", bus if not s.redis_url else shown_url(s.redis_url)),
        ("task_runner", s.task_runner), ("parallelism", s.parallelism),
        ("python_version", platform.python_version()), ("python_location", sys.executable),
        ("platform", platform.platform()), ("config_file", _config_file_text()),
    ]
    print_rows([{"key": k, "value": v} for k, v in rows], ["key", "value"], args.output)
    return 0


def _config_file_text() -> str:
    from leoflow.config import config_file

    path = config_file()
    return f"{path}" if path.is_file() else f"{path} (none)"


# --- jobs check -----------------------------------------------------------------------------------------

def jobs_check(args) -> int:
    import datetime as dt

    from sqlalchemy import select

    from leoflow.config import hostname
    from leoflow.store.tables import job
    from leoflow.store.types import utcnow

    from .context import check_database_reachable

    s = settings(args)
    check_database_reachable(s.database_url)
    if args.allow_multiple and args.limit <= 1:
        raise fail("To use option --allow-multiple, you must set the limit to a value greater than 1.")
    if args.hostname and args.local:
        raise fail("You can't use --hostname and --local at the same time")
    from leoflow.store.engine import make_engine

    engine = make_engine(s.database_url, pool_size=1)
    since = utcnow() - dt.timedelta(seconds=max(s.zombie_threshold, 30.0))  # a job that beat lately is alive
    query = select(job.c.id).where(job.c.state == "running", job.c.latest_heartbeat >= since)
    if args.job_type:
        query = query.where(job.c.job_type == args.job_type)
    host = hostname() if args.local else args.hostname
    if host:
        query = query.where(job.c.hostname == host)
    from leoflow.store import migrate

    try:
        if migrate.schema_state(engine)[0] == "empty":  # nothing has ever run on this database
            alive = 0
        else:
            with engine.connect() as conn:
                alive = len(conn.execute(query.order_by(job.c.latest_heartbeat.desc()).limit(args.limit)).all())
    finally:
        engine.dispose()
    if alive == 0:
        print("No alive jobs found.", file=sys.stderr)
        return 1
    if alive > 1 and not args.allow_multiple:
        print(f"Found {alive} alive jobs. Expected only one.", file=sys.stderr)
        return 1
    print("Found one alive job." if alive == 1 else f"Found {alive} alive jobs.")
    return 0


# --- db check-migrations --------------------------------------------------------------------------------

def db_check_migrations(args) -> int:
    from leoflow.store import migrate
    from leoflow.store.engine import make_engine

    from .context import check_database_reachable

    s = settings(args)
    check_database_reachable(s.database_url)
    engine = make_engine(s.database_url, pool_size=1)
    deadline = time.monotonic() + max(args.migration_wait_timeout, 0)
    try:
        while True:
            state, revision = migrate.schema_state(engine)
            if state == "current":
                print("DB migrations done.")
                return 0
            if state == "ahead":
                from leoflow.services import refuse_airflow_database

                refuse_airflow_database(engine, s.database_url, s)
                raise fail(f"the database {shown_url(s.database_url)} is at revision {revision}, made by a newer "
                           f"Leoflow than this one: upgrade Leoflow")
            if time.monotonic() >= deadline:
                print(f"There are still unapplied migrations after {args.migration_wait_timeout} seconds "
                      f"(the database is at {revision or 'no revision'}): run `leoflow db migrate`",
                      file=sys.stderr)
                return 1
            time.sleep(1.0)
    finally:
        engine.dispose()


# --- cheat-sheet ----------------------------------------------------------------------------------------

def command_table(parser) -> list[tuple[str, str]]:
    """(command, what it does) for every command the parser knows, in its order: the cheat sheet and README."""
    out: list[tuple[str, str]] = []

    def walk(p, prefix: str) -> None:
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                helps = {a.dest: a.help for a in action._choices_actions}
                for name, child in action.choices.items():
                    if name.startswith("_"):
                        continue
                    has_sub = any(isinstance(a, argparse._SubParsersAction) for a in child._actions)
                    if has_sub:
                        walk(child, f"{prefix}{name} ")
                    else:
                        out.append((f"{prefix}{name}", helps.get(name) or ""))

    walk(parser, "leoflow ")
    return out


def cheat_sheet(args) -> int:
    from .main import build_parser

    rows = command_table(build_parser())
    if args.output == "markdown":
        print("| Command | What it does |\n|---|---|")
        for command, text in rows:
            print(f"| `{command}` | {text} |")
        return 0
    width = max(len(c) for c, _ in rows)
    group = None
    for command, text in rows:
        top = command.split()[1]
        if top != group:
            if group is not None:
                print()
            group = top
        print(f"{command.ljust(width)}  {text}")
    return 0


def add_parsers(sub, db_sub=None) -> None:
    p = sub.add_parser("config", help="Leoflow's settings: get-value, list")
    c = p.add_subparsers(dest="config_command", metavar="ACTION")
    p.set_defaults(func=lambda args: p.print_help() or 2)
    q = c.add_parser("get-value", help="one setting: `leoflow NAME` or Airflow's `SECTION KEY` Leoflow reads")
    common_args(q)
    q.add_argument("section")
    q.add_argument("option")
    q.set_defaults(func=config_get_value)
    q = c.add_parser("list", help="every setting and its value (secrets hidden)")
    common_args(q)
    q.add_argument("--section")
    q.add_argument("--include-descriptions", action="store_true", help="name each setting's variables")
    q.add_argument("--include-env-vars", action="store_true", help="name each setting's variables")
    q.add_argument("--defaults", action="store_true", help=argparse.SUPPRESS)
    q.set_defaults(func=config_list)

    q = sub.add_parser("info", help="version, paths, database, bus and platform")
    common_args(q)
    output_arg(q)
    q.add_argument("--anonymize", action="store_true", help=argparse.SUPPRESS)
    q.set_defaults(func=info)

    p = sub.add_parser("jobs", help="check that a scheduler, DAG processor or triggerer is alive")
    j = p.add_subparsers(dest="jobs_command", metavar="ACTION")
    p.set_defaults(func=lambda args: p.print_help() or 2)
    q = j.add_parser("check", help="exit 0 if a job of the type heart-beats (for liveness probes)")
    common_args(q)
    q.add_argument("--job-type", choices=("SchedulerJob", "TriggererJob", "DagProcessorJob"))
    q.add_argument("--hostname", help="only jobs on this host")
    q.add_argument("--local", action="store_true", help="only jobs on this host (its name)")
    q.add_argument("--limit", type=int, default=1, help="how many jobs to look at (default 1)")
    q.add_argument("--allow-multiple", action="store_true", help="several alive jobs are fine")
    q.set_defaults(func=jobs_check)

    if db_sub is not None:
        q = db_sub.add_parser("check-migrations", help="exit 0 once the schema is current (waits -t seconds)")
        common_args(q)
        q.add_argument("-t", "--migration-wait-timeout", type=int, default=60,
                       help="seconds to wait for the migrations (default 60)")
        q.set_defaults(func=db_check_migrations)

    q = sub.add_parser("cheat-sheet", help="every command on one page")
    q.add_argument("-o", "--output", choices=("table", "markdown"), default="table")
    q.set_defaults(func=cheat_sheet)

