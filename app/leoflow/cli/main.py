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

    sub.add_parser("version", help="print the version")

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
    q.add_argument("-o", "--output", choices=("table", "json", "plain"), default="table")
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
    q = dags_sub.add_parser("test", help="run one DAG run in this process and print each task's state")
    _common(q)
    q.add_argument("dag_id")
    q.add_argument("logical_date", nargs="?", help="ISO date (default: now)")
    q.add_argument("-c", "--conf", help="JSON object passed to the run as conf")
    q.add_argument("-o", "--output", choices=("table", "json"), default="table")

    tasks = sub.add_parser("tasks", help="test a single task")
    tasks_sub = tasks.add_subparsers(dest="tasks_command", metavar="ACTION")
    q = tasks_sub.add_parser("test", help="run one task in this process, without recording state")
    _common(q)
    q.add_argument("dag_id")
    q.add_argument("task_id")
    q.add_argument("logical_date", nargs="?")

    from .server import add_parser as add_server_parser
    from .users import add_parser as add_users_parser

    add_server_parser(sub)
    add_users_parser(sub)
    from .agents import add_parser as add_agents_parser

    add_agents_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_fork-server"]:  # internal: lite replacing a fork server that died (executors/forkserver.py)
        from leoflow.executors.forkserver import serve_inherited

        return serve_inherited(int(argv[1]))
    parser = build_parser()
    args = parser.parse_args(argv)
    cmd = args.command
    if cmd is None:
        parser.print_help()
        return 2
    if cmd == "version":
        from leoflow import __version__

        print(__version__)
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
