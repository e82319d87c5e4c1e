"""`leoflow tasks list [--tree]|states-for-dag-run|state|clear`, as Airflow 3.2's.

`clear` resets task instances by the rules the REST API's clearTaskInstances uses (api/clearing.py): history
kept, XComs purged, their runs queued again, and a running scheduler woken so they start at once.
"""

from __future__ import annotations

import re
import sys

from .context import common_args, fail, open_store, output_arg, services_with_dags
from .dag_commands import _serialized, dag_row_or_fail, find_run, iso, parse_date
from .output import print_rows


def list_(args) -> int:
    from .graph import tree

    services = services_with_dags(args)
    with services.engine.connect() as conn:
        dag_row_or_fail(services, conn, args.dag_id, parsed=True)
        data = _serialized(conn, args.dag_id)
    if args.tree:
        print(tree(data), end="")
    else:
        print("\n".join(sorted(t["task_id"] for t in data.get("tasks", []))))
    return 0


def _run_or_fail(conn, dag_id: str, value: str):
    run = find_run(conn, dag_id, value)
    if run is None:
        raise fail(f"DagRun for {dag_id} with run_id or logical_date of {value!r} not found")
    return run


def states_for_dag_run(args) -> int:
    from sqlalchemy import select

    from leoflow.store.tables import task_instance

    services = open_store(args)
    with services.engine.connect() as conn:
        dag_row_or_fail(services, conn, args.dag_id, parsed=False)
        run = _run_or_fail(conn, args.dag_id, args.logical_date_or_run_id)
        tis = conn.execute(select(task_instance).where(task_instance.c.dag_id == args.dag_id,
                                                       task_instance.c.run_id == run.run_id)
                           .order_by(task_instance.c.task_id, task_instance.c.map_index)).all()
    mapped = any(ti.map_index >= 0 for ti in tis)
    columns = ["dag_id", "logical_date", "task_id", "state", "start_date", "end_date"] + (["map_index"] if mapped else [])
    print_rows([{"dag_id": ti.dag_id, "logical_date": iso(run.logical_date), "task_id": ti.task_id,
                 "state": ti.state or "", "start_date": iso(ti.start_date), "end_date": iso(ti.end_date),
                 "map_index": str(ti.map_index) if ti.map_index >= 0 else ""} for ti in tis], columns, args.output)
    return 0


def state(args) -> int:
    from leoflow.store import tis as store_tis

    services = open_store(args)
    with services.engine.connect() as conn:
        dag_row_or_fail(services, conn, args.dag_id, parsed=False)
        run = _run_or_fail(conn, args.dag_id, args.logical_date_or_run_id)
        ti = store_tis.get_ti_by_key(conn, args.dag_id, run.run_id, args.task_id, args.map_index)
    if ti is None:
        raise fail(f"Task {args.task_id!r} (map index {args.map_index}) has no instance in run {run.run_id} of "
                   f"DAG {args.dag_id}")
    print(ti.state)
    return 0


def clear(args) -> int:
    from leoflow.api import clearing
    from leoflow.store import dags as dag_store

    services = open_store(args)
    start, end = parse_date(args.start_date, "--start-date"), parse_date(args.end_date, "--end-date")
    with services.engine.connect() as conn:
        dag_row_or_fail(services, conn, args.dag_id, parsed=False)
        found = dag_store.latest_serialized(conn, args.dag_id)
    version_id, data = found if found else (None, {})
    tasks = None
    if args.task_regex:
        try:
            pattern = re.compile(args.task_regex)
        except re.error as exc:
            raise fail(f"-t {args.task_regex!r} is not a regular expression ({exc})") from None
        picked = [t["task_id"] for t in data.get("tasks", []) if pattern.search(t["task_id"])]
        tasks = sorted(clearing.relatives(data, picked, upstream=args.upstream, downstream=args.downstream))
    states = None
    if args.only_failed and args.only_running:
        states = []
    elif args.only_failed:
        states = list(clearing.FAILED_STATES)
    elif args.only_running:
        states = ["running"]

    def selected(conn):
        return clearing.select_tis(conn, args.dag_id, tasks=tasks, states=states, start_date=start, end_date=end)

    if not args.yes:
        with services.engine.connect() as conn:
            rows = selected(conn)
        if not rows:
            print("No task instances to clear")
            return 0
        if not sys.stdin.isatty():
            raise fail(f"`tasks clear` would clear {len(rows)} task instance(s): confirm with --yes "
                       f"(no terminal to ask on)")
        listing = "\n".join(f"<TaskInstance: {r.dag_id}.{r.task_id} {r.run_id} [{r.state}]>" for r in rows)
        answer = input(f"You are about to delete these {len(rows)} tasks:\n{listing}\n\nAre you sure? [y/n]")
        if answer.strip().lower() not in ("y", "yes"):
            print("Cancelled, nothing was cleared.")
            return 0
    with services.engine.begin() as conn:
        rows = selected(conn)
        clearing.clear(conn, rows, data)
    for run_id in sorted({r.run_id for r in rows}):
        services.bus.notify_scheduler(kind="run_created", dag_id=args.dag_id, run_id=run_id)
    print(f"Cleared {len(rows)} task instance(s) of {args.dag_id}")
    return 0


def add_parsers(tasks_sub) -> None:
    q = tasks_sub.add_parser("list", help="a DAG's task ids")
    common_args(q, dags=True)
    q.add_argument("dag_id")
    q.add_argument("-t", "--tree", action="store_true", help="as a tree of downstream tasks")
    q.set_defaults(func=list_)

    q = tasks_sub.add_parser("states-for-dag-run", help="the states of a run's task instances")
    common_args(q)
    q.add_argument("dag_id")
    q.add_argument("logical_date_or_run_id")
    output_arg(q)
    q.set_defaults(func=states_for_dag_run)

    q = tasks_sub.add_parser("state", help="a task instance's state")
    common_args(q)
    q.add_argument("dag_id")
    q.add_argument("task_id")
    q.add_argument("logical_date_or_run_id")
    q.add_argument("-m", "--map-index", type=int, default=-1, help="the mapped instance (default: not mapped)")
    q.set_defaults(func=state)

    q = tasks_sub.add_parser("clear", help="clear task instances so they run again")
    common_args(q)
    q.add_argument("dag_id")
    q.add_argument("-t", "--task-regex", help="only the tasks whose id this regex matches")
    q.add_argument("-s", "--start-date", help="only runs with a logical date on or after this")
    q.add_argument("-e", "--end-date", help="only runs with a logical date on or before this")
    q.add_argument("-f", "--only-failed", action="store_true", help="only failed and upstream-failed ones")
    q.add_argument("-r", "--only-running", action="store_true", help="only running ones")
    q.add_argument("-d", "--downstream", action="store_true", help="with the tasks downstream of -t's")
    q.add_argument("-u", "--upstream", action="store_true", help="with the tasks upstream of -t's")
    q.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    q.set_defaults(func=clear)
