"""`leoflow backfill create`, as `airflow backfill create` (Airflow 3.2): the runs for past logical dates, made by
the code the REST API's POST /backfills uses and started by the running scheduler (woken at once)."""

from __future__ import annotations

import getpass
import json

from .context import common_args, fail, services_with_dags
from .dag_commands import parse_date


def _body(args) -> dict:
    start, end = parse_date(args.from_date, "--from-date"), parse_date(args.to_date, "--to-date")
    if start > end:
        raise fail("--to-date must be on or after --from-date")
    conf = {}
    if args.dag_run_conf:
        try:
            conf = json.loads(args.dag_run_conf)
        except ValueError as exc:
            raise fail(f"Invalid JSON in --dag-run-conf: {exc}") from None
        if not isinstance(conf, dict):
            raise fail("--dag-run-conf must be a JSON object")
    if args.max_active_runs is not None and args.max_active_runs < 1:
        raise fail("--max-active-runs must be 1 or more")
    return {"dag_id": args.dag_id, "from_date": start, "to_date": end, "run_backwards": args.run_backwards,
            "dag_run_conf": conf, "max_active_runs": args.max_active_runs or 10,
            "reprocess_behavior": args.reprocess_behavior or "none",
            "run_on_latest_version": args.run_on_latest_version}


def _message(exc) -> str:
    detail = exc.detail
    if isinstance(detail, list):  # validation errors: their messages
        return "; ".join(str(d.get("msg", d)) for d in detail)
    return str(detail)


def create(args) -> int:
    from leoflow.api import backfills
    from leoflow.api.errors import HTTPError

    body = _body(args)
    services = services_with_dags(args)
    if args.dry_run:
        print("Performing dry run of backfill.\nPrinting params:")
        for key in ("dag_id", "from_date", "to_date", "max_active_runs", "run_backwards", "dag_run_conf",
                    "reprocess_behavior", "run_on_latest_version"):
            value = body[key]
            print(f"    - {'reverse' if key == 'run_backwards' else key} = "
                  f"{value.isoformat() if hasattr(value, 'isoformat') else value}")
        try:
            with services.engine.connect() as conn:
                _, _, planned = backfills._plan(conn, body)
        except HTTPError as exc:
            raise fail(_message(exc)) from None
        print("Runs to be attempted:")
        for info, _, reason in planned:
            if reason is None:
                print(f"    - {info.logical_date.isoformat()}")
        return 0
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = None
    try:
        with services.engine.begin() as conn:
            row = backfills.insert_backfill(conn, body, user)
    except HTTPError as exc:
        raise fail(_message(exc)) from None
    services.bus.notify_scheduler(kind="run_created", dag_id=args.dag_id)
    with services.engine.connect() as conn:
        from sqlalchemy import func, select

        from leoflow.store.tables import backfill_dag_run

        made = conn.execute(select(func.count()).select_from(backfill_dag_run).where(
            backfill_dag_run.c.backfill_id == row.id, backfill_dag_run.c.exception_reason.is_(None))).scalar()
    print(f"Created backfill {row.id} of {args.dag_id}: {made} run(s) from {body['from_date'].isoformat()} to "
          f"{body['to_date'].isoformat()}, queued for the scheduler")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("backfill", help="runs for past logical dates")
    b = p.add_subparsers(dest="backfill_command", metavar="ACTION")
    p.set_defaults(func=lambda args: p.print_help() or 2)
    q = b.add_parser("create", help="create a backfill: one queued run per logical date in the range")
    common_args(q, dags=True)
    q.add_argument("--dag-id", required=True)
    q.add_argument("--from-date", required=True, help="ISO date, the first logical date (inclusive)")
    q.add_argument("--to-date", required=True, help="ISO date, the last logical date (inclusive)")
    q.add_argument("--dag-run-conf", help="JSON object given to each run as conf")
    q.add_argument("--run-backwards", action="store_true", help="newest logical date first")
    q.add_argument("--max-active-runs", type=int, help="runs of the backfill at once (default 10)")
    q.add_argument("--reprocess-behavior", choices=("none", "completed", "failed"),
                   help="what to do with dates that already have a run (default: none, keep them)")
    q.add_argument("--run-on-latest-version", action="store_true", default=True, help="(always, as Airflow 3.2)")
    q.add_argument("--dry-run", action="store_true", help="print the logical dates that would get a run")
    q.set_defaults(func=create)
