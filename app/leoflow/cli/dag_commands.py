"""`leoflow dags list-runs|list-import-errors|state|details|next-execution|delete|report|show`, as Airflow 3.2's.

Commands about what ran read the database only (`list-runs`, `state`, `next-execution`, `delete`); commands
about what the files define parse the DAG folder first, as `dags list` does (`details`, `show`, `report`,
`list-import-errors`). A DAG that is missing is reported saying which of the two was searched.
"""

from __future__ import annotations

import datetime as dt
import json
import sys

from .context import common_args, fail, open_store, output_arg, services_with_dags, shown_url
from .output import print_rows


def parse_date(value: str | None, what: str = "date") -> dt.datetime | None:
    if not value:
        return None
    try:
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise fail(f"{what} {value!r} is not an ISO date (e.g. 2026-01-05 or 2026-01-05T10:00:00+00:00)") from None
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


def iso(value) -> str:
    return value.isoformat() if value is not None else ""


def dag_row_or_fail(services, conn, dag_id: str, *, parsed: bool):
    """The DAG's row; a missing one names where it was looked for (`parsed`: the folder was parsed first)."""
    from leoflow.store import dags as dag_store

    row = dag_store.get_dag(conn, dag_id)
    if row is not None and not row.is_stale:
        return row
    if parsed:
        errors = len(dag_store.import_errors(conn))
        hint = (f"; {errors} file(s) there failed to import (`leoflow dags list-import-errors`)" if errors else "")
        raise fail(f"DAG {dag_id!r} not found in the DAG folder {services.settings.dags_folder}{hint}")
    raise fail(f"DAG {dag_id!r} not found in the database {shown_url(services.settings.database_url)} "
               f"(the DAG folder was not searched: `leoflow dags list` parses it into the database)")


def _serialized(conn, dag_id: str) -> dict:
    from leoflow.store import dags as dag_store

    found = dag_store.latest_serialized(conn, dag_id)
    return found[1] if found else {}


# --- what ran: the database only ---------------------------------------------------------------------------

def list_runs(args) -> int:
    from sqlalchemy import select

    from leoflow.store.tables import dag_run

    services = open_store(args)
    with services.engine.connect() as conn:
        dag_row_or_fail(services, conn, args.dag_id, parsed=False)
        query = select(dag_run).where(dag_run.c.dag_id == args.dag_id)
        if args.state:
            query = query.where(dag_run.c.state == args.state.lower())
        if args.no_backfill:
            query = query.where(dag_run.c.run_type != "backfill")
        if start := parse_date(args.start_date, "--start-date"):
            query = query.where(dag_run.c.logical_date >= start)
        if end := parse_date(args.end_date, "--end-date"):
            query = query.where(dag_run.c.logical_date <= end)
        rows = conn.execute(query.order_by(dag_run.c.run_after.desc(), dag_run.c.id.desc())).all()
    print_rows([{"dag_id": r.dag_id, "run_id": r.run_id, "state": r.state, "run_after": iso(r.run_after),
                 "logical_date": iso(r.logical_date), "start_date": iso(r.start_date),
                 "end_date": iso(r.end_date)} for r in rows],
               ["dag_id", "run_id", "state", "run_after", "logical_date", "start_date", "end_date"], args.output)
    return 0


def find_run(conn, dag_id: str, value: str):
    """A run by its run id, or else by its logical date (Airflow's `logical_date_or_run_id`)."""
    from sqlalchemy import select

    from leoflow.store.tables import dag_run

    row = conn.execute(select(dag_run).where(dag_run.c.dag_id == dag_id, dag_run.c.run_id == value)).first()
    if row is not None:
        return row
    try:
        when = parse_date(value)
    except Exception:  # noqa: BLE001 - neither a run id nor a date: no run
        return None
    return conn.execute(select(dag_run).where(dag_run.c.dag_id == dag_id, dag_run.c.logical_date == when)).first()


def state(args) -> int:
    services = open_store(args)
    with services.engine.connect() as conn:
        dag_row_or_fail(services, conn, args.dag_id, parsed=False)
        run = find_run(conn, args.dag_id, args.logical_date_or_run_id)
    if run is None:
        print(None)
    elif run.conf:
        print(f"{run.state}, {json.dumps(run.conf)}")
    else:
        print(run.state)
    return 0


def next_execution(args) -> int:
    from sqlalchemy import func, select

    from leoflow.scheduler import timetables
    from leoflow.store.tables import dag_run
    from leoflow.store.types import utcnow

    services = open_store(args)
    with services.engine.connect() as conn:
        row = dag_row_or_fail(services, conn, args.dag_id, parsed=False)
        data = _serialized(conn, args.dag_id)
        last = conn.execute(select(func.max(dag_run.c.logical_date)).where(
            dag_run.c.dag_id == args.dag_id, dag_run.c.run_type.in_(("scheduled", "backfill")))).scalar()
    if row.is_paused:
        print("[INFO] Please be reminded this DAG is PAUSED now.", file=sys.stderr)
    infos, now = [], utcnow()
    for _ in range(max(args.num_executions, 1)):
        info = timetables.next_run(dict(data, catchup=True) if infos else data, last, now)
        infos.append(info)
        if info is None:
            break
        last = info.logical_date
    if args.table:
        print_rows([{"logical_date": iso(i.logical_date), "data_interval.start": iso(i.data_interval[0]),
                     "data_interval.end": iso(i.data_interval[1]), "run_after": iso(i.run_after)}
                    for i in infos if i is not None],
                   ["logical_date", "data_interval.start", "data_interval.end", "run_after"], "table")
        return 0
    for info in infos:
        if info is None:
            print("[WARN] No following schedule can be found. This DAG may have schedule interval '@once' or "
                  "`None`.", file=sys.stderr)
            print(None)
        else:
            print(iso(info.logical_date))
    return 0


def delete(args) -> int:
    from leoflow.api.dags import forget_dag

    services = open_store(args)
    with services.engine.connect() as conn:
        dag_row_or_fail(services, conn, args.dag_id, parsed=False)
    if not args.yes:
        if not sys.stdin.isatty():
            raise fail(f"`dags delete` removes every record of DAG {args.dag_id!r}: confirm with --yes "
                       f"(no terminal to ask on)")
        answer = input("This will drop all existing records related to the specified DAG. Proceed? (y/n)")
        if answer.strip().upper() != "Y":
            print("Cancelled")
            return 0
    with services.engine.begin() as conn:
        problem = forget_dag(conn, args.dag_id)
    if problem:
        raise fail(problem)
    print(f"Removed {args.dag_id}: the records of its runs, tasks and versions are deleted "
          f"(its file, if still in the folder, adds it back on the next parse)")
    return 0


# --- what the files define: the folder, parsed here -------------------------------------------------------

def details(args) -> int:
    from leoflow.api import serializers

    services = services_with_dags(args)
    with services.engine.connect() as conn:
        row = dag_row_or_fail(services, conn, args.dag_id, parsed=True)
        tags = [t.name for t in conn.execute(_tags_query(args.dag_id))]
    body = serializers.dag(row, tags, "")
    body.pop("file_token", None)
    if args.output in ("table", "plain"):
        print_rows([{"property_name": k, "property_value": v} for k, v in body.items()],
                   ["property_name", "property_value"], args.output)
    else:
        print_rows([body], list(body), args.output)
    return 0


def _tags_query(dag_id: str):
    from sqlalchemy import select

    from leoflow.store.tables import dag_tag

    return select(dag_tag.c.name).where(dag_tag.c.dag_id == dag_id).order_by(dag_tag.c.name)


def list_import_errors(args) -> int:
    from leoflow.store import dags as dag_store

    services = services_with_dags(args)
    with services.engine.connect() as conn:
        rows = dag_store.import_errors(conn)
    print_rows([{"filepath": r.filename, "error": r.stacktrace} for r in rows], ["filepath", "error"], args.output)
    return 1 if rows else 0


def report(args) -> int:
    import time

    from leoflow.dagproc.processor import DagProcessor, inprocess_parser

    timings: dict[str, tuple[float, dict]] = {}

    def timed(path: str, timeout: float) -> dict:
        started = time.perf_counter()
        result = inprocess_parser(path, timeout)
        timings[path] = (time.perf_counter() - started, result)
        return result

    timed.attach = inprocess_parser.attach
    services = open_store(args)
    import logging

    logging.getLogger("leoflow.dagproc.processor").setLevel(logging.ERROR)  # errors: `list-import-errors`
    processor = DagProcessor(services, timed, paused_by_default=False)
    processor.refresh()
    folder = str(services.settings.dags_folder).rstrip("/") + "/"
    items = []
    for path, (seconds, result) in sorted(timings.items(), key=lambda kv: -kv[1][0]):
        dags = (result or {}).get("dags") or []
        items.append({"file": "/" + path[len(folder):] if path.startswith(folder) else path,
                      "duration": str(dt.timedelta(seconds=seconds)), "dag_num": len(dags),
                      "task_num": sum(len(d.get("tasks", [])) for d in dags),
                      "dags": sorted(d["dag_id"] for d in dags)})
    print_rows(items, ["file", "duration", "dag_num", "task_num", "dags"], args.output)
    return 0


def show(args) -> int:
    from .graph import ascii_graph, dot_graph

    services = services_with_dags(args)
    with services.engine.connect() as conn:
        dag_row_or_fail(services, conn, args.dag_id, parsed=True)
        data = _serialized(conn, args.dag_id)
    if args.save:
        if not args.save.endswith(".dot"):
            raise fail(f"--save {args.save}: Leoflow writes DOT files only (name it .dot; render it with "
                       f"Graphviz's `dot -Tpng`)")
        from .context import write_text_file

        write_text_file(args.save, dot_graph(data))
        print(f"File {args.save} saved")
        return 0
    print(ascii_graph(data) if args.ascii else dot_graph(data), end="")
    return 0


def add_parsers(dags_sub) -> None:
    q = dags_sub.add_parser("list-runs", help="list a DAG's runs, newest first")
    common_args(q)
    q.add_argument("dag_id")
    q.add_argument("--state", help="only runs in this state (queued, running, success, failed)")
    q.add_argument("--no-backfill", action="store_true", help="leave out backfill runs")
    q.add_argument("-s", "--start-date", help="only runs with a logical date on or after this")
    q.add_argument("-e", "--end-date", help="only runs with a logical date on or before this")
    output_arg(q)
    q.set_defaults(func=list_runs)

    q = dags_sub.add_parser("list-import-errors", help="files of the DAG folder that failed to import")
    common_args(q, dags=True)
    output_arg(q)
    q.set_defaults(func=list_import_errors)

    q = dags_sub.add_parser("state", help="a run's state (and conf), by run id or logical date")
    common_args(q)
    q.add_argument("dag_id")
    q.add_argument("logical_date_or_run_id")
    q.set_defaults(func=state)

    q = dags_sub.add_parser("details", help="a DAG's properties")
    common_args(q, dags=True)
    q.add_argument("dag_id")
    output_arg(q)
    q.set_defaults(func=details)

    q = dags_sub.add_parser("next-execution", help="the logical date of the DAG's next scheduled run")
    common_args(q)
    q.add_argument("dag_id")
    q.add_argument("-n", "--num-executions", type=int, default=1, help="how many to print")
    q.add_argument("--table", action="store_true", help="print the dates and data intervals as a table")
    q.set_defaults(func=next_execution)

    q = dags_sub.add_parser("delete", help="delete every record of a DAG (runs, tasks, versions)")
    common_args(q)
    q.add_argument("dag_id")
    q.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    q.set_defaults(func=delete)

    q = dags_sub.add_parser("report", help="each DAG file's parse time, DAGs and tasks")
    common_args(q, dags=True)
    output_arg(q)
    q.set_defaults(func=report)

    q = dags_sub.add_parser("show", help="a DAG's tasks as a DOT graph (or --ascii)")
    common_args(q, dags=True)
    q.add_argument("dag_id")
    q.add_argument("--ascii", action="store_true", help="draw the graph as text instead of DOT")
    q.add_argument("-s", "--save", help="write the DOT graph to this .dot file")
    q.set_defaults(func=show)
