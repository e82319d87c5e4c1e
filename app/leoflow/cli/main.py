"""`leoflow` command line. Imports stay inside the commands: `leoflow version` must start fast."""

from __future__ import annotations

import argparse
import sys


def _common(p: argparse.ArgumentParser, *, dags: bool = True) -> None:
    p.add_argument("--home", help="folder holding all state (default: LEOFLOW_HOME or the user data dir)")
    if dags:
        p.add_argument("--dags-folder", "-S", "--subdir", dest="dags_folder",
                       help="folder of DAG files (default: LEOFLOW_DAGS_FOLDER or HOME/dags)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="leoflow", description="Runs Airflow 3.2 DAG files, light and fast.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("lite", help="everything in one process on this machine: API, UI, scheduler, tasks")
    _common(p)
    p.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port to listen on (default 8080)")

    p = sub.add_parser("version", help="print the version")
    p.add_argument("--json", action="store_true",
                   help="also the commit, the build date, the Airflow version it speaks and the Python inside")

    p = sub.add_parser("migrate", help="apply the schema migrations to the metadata database")
    _common(p, dags=False)

    db = sub.add_parser("db", help="metadata database: migrate, check, reset")
    db_sub = db.add_subparsers(dest="db_command", metavar="ACTION")
    for name, text in (("migrate", "apply migrations"), ("check", "exit 0 if reachable and current"),
                       ("reset", "drop and recreate every table")):
        q = db_sub.add_parser(name, help=text)
        _common(q, dags=False)
        if name == "reset":
            q.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")

    dags = sub.add_parser("dags", help="list, trigger, pause, unpause and test DAGs")
    dags_sub = dags.add_subparsers(dest="dags_command", metavar="ACTION")
    q = dags_sub.add_parser("list", help="list the DAGs in the DAG folder")
    _common(q)
    q.add_argument("-o", "--output", choices=("table", "json", "yaml", "plain"), default="table")
    q.add_argument("--columns", type=lambda v: [c.strip() for c in v.split(",") if c.strip()],
                   help="comma-separated columns (default: dag_id,fileloc,owners,is_paused)")
    q = dags_sub.add_parser("trigger", help="create a manual run")
    _common(q)
    q.add_argument("dag_id")
    q.add_argument("-c", "--conf", help="JSON object passed to the run as conf")
    q.add_argument("-l", "--logical-date", dest="logical_date", help="ISO date; default: none, as Airflow 3")
    q.add_argument("-r", "--run-id", dest="run_id")
    for name in ("pause", "unpause"):
        q = dags_sub.add_parser(name, help=f"{name} a DAG")
        _common(q)
        q.add_argument("dag_id")
        q.add_argument("--treat-dag-id-as-regex", action="store_true", help=f"{name} every DAG the regex matches")
        q.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
        q.add_argument("-o", "--output", choices=("table", "json", "yaml", "plain"), default="table")
    q = dags_sub.add_parser("test", help="run one DAG run in this process and print each task's state")
    _common(q)
    q.add_argument("dag_id")
    q.add_argument("logical_date", nargs="?", help="ISO date (default: now)")
    q.add_argument("-c", "--conf", help="JSON object passed to the run as conf")
    q.add_argument("-o", "--output", choices=("table", "json"), default="table")
    q.add_argument("--isolated", action="store_true",
                   help="run in a throw-away database, without the home's Variables, Connections, pools, runs "
                        "and asset events (default: in the home's own database)")
    q.add_argument("--quiet", "-q", action="store_true", help="do not print the tasks' log lines as they run")

    tasks = sub.add_parser("tasks", help="test a single task")
    tasks_sub = tasks.add_subparsers(dest="tasks_command", metavar="ACTION")
    q = tasks_sub.add_parser("test", help="run one task in this process, without recording state")
    _common(q)
    q.add_argument("dag_id")
    q.add_argument("task_id")
    q.add_argument("logical_date", nargs="?")
    from .commands import add_parsers as add_everyday_parsers

    add_everyday_parsers(sub, dags_sub, tasks_sub, db_sub)  # the everyday commands, Airflow's (commands.py)

    from .server import add_parser as add_server_parser
    from .users import add_parser as add_users_parser

    add_server_parser(sub)
    add_users_parser(sub)
    from .healthcheck import add_parser as add_healthcheck_parser

    add_healthcheck_parser(sub)
    from .providers import add_parser as add_providers_parser

    add_providers_parser(sub)
    from .agents import add_parser as add_agents_parser

    add_agents_parser(sub)
    return parser


def main(argv: list[str] | None = None, platform: str | None = None) -> int:
    """`platform` stands for sys.platform (tests pass another)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] not in (["version"], ["_prune-cache"]):
        from leoflow import userlibs  # PYTHONPATH and $LEOFLOW_HOME/site-packages (ADR 24)

        userlibs.activate(inherited=argv[0].startswith("_") or argv[0] == "execute-workload")
    if argv[:1] == ["_fork-server"]:  # internal: lite replacing a fork server that died (executors/forkserver.py)
        from leoflow.executors.forkserver import serve_inherited

        return serve_inherited(int(argv[1]))
    if argv[:1] == ["_pip"]:  # internal: the single executable's bundled pip (providers/install.py)
        from pip._internal.cli.main import main as pip_main

        return pip_main(argv[1:])
    if argv[:1] == ["_prune-cache"]:  # internal: the single executable just unpacked a new build (ADR 28)
        from .unpack_cache import main as prune_main

        return prune_main(argv[1:])
    if argv[:1] == ["execute-workload"]:  # internal: a Kubernetes task pod's command (executors/kubernetes/)
        from .execute_workload import main as execute_workload

        return execute_workload(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "home", None):
        from leoflow import userlibs

        userlibs.activate(args.home)
    from . import context
    from .context import UsageError

    try:
        return _dispatch(parser, args, platform)
    except UsageError as exc:  # a mistake the person can fix: one line, exit 2
        print(f"leoflow: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `leoflow ... | head`: the reader left; no traceback
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as exc:  # a database that cannot be reached, from any command: one line too
        if not context.is_connect_error(exc):
            raise
        from leoflow import config

        url = config.load(home=getattr(args, "home", None)).database_url
        print(f"leoflow: {context.unreachable(url, exc)}", file=sys.stderr)
        return 2


def _dispatch(parser, args, platform: str | None = None) -> int:
    if getattr(args, "func", None) is not None:  # the commands of commands.py name their function
        return args.func(args)
    cmd = args.command
    if cmd is None:
        parser.print_help()
        return 2
    from .platform_support import refusal

    if (why := refusal(cmd, platform)) is not None:
        print(why, file=sys.stderr)
        return 2
    if cmd == "version":
        if args.json:
            import json

            from leoflow.build_info import build_info

            print(json.dumps(build_info()))
            return 0
        from leoflow.build_info import build_info, version_line

        print(version_line(build_info()))
        return 0
    if cmd == "lite":
        from .lite import run_lite

        return run_lite(args)
    if cmd == "migrate" or (cmd == "db" and args.db_command == "migrate"):
        from .db import migrate

        return migrate(args)
    if cmd == "db":
        from . import db

        if args.db_command == "check":
            return db.check(args)
        if args.db_command == "reset":
            return db.reset(args)
        parser.parse_args(["db", "--help"])
    if cmd == "dags":
        from . import dags

        action = args.dags_command
        if action is None:
            parser.parse_args(["dags", "--help"])
        return getattr(dags, action)(args)
    if cmd == "tasks":
        from . import tasks

        if args.tasks_command is None:
            parser.parse_args(["tasks", "--help"])
        return tasks.test(args)
    if cmd == "server":
        from .server import run_server

        return run_server(args)
    if cmd == "users":
        from . import users

        return users.run(args, parser)
    if cmd == "healthcheck":
        from . import healthcheck

        return healthcheck.run(args)
    if cmd == "providers":
        from . import providers

        return providers.run(args, parser)
    if cmd == "pip":
        from . import providers

        return providers.pip(args)
    if cmd == "agents":
        from . import agents

        return agents.run(args, parser)
    if cmd == "agent":
        from leoflow.agents.worker import run_agent

        return run_agent(args)
    parser.error(f"unknown command {cmd!r}")
    return 2


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
