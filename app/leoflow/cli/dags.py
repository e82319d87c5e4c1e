"""`leoflow dags list|trigger|pause|unpause|test`."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sys
from pathlib import Path

from .output import print_rows


def _settings(args):
    from leoflow import config

    return config.load(home=args.home, dags_folder=getattr(args, "dags_folder", None))


def _parse_date(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise SystemExit(f"leoflow: {value!r} is not an ISO date (e.g. 2026-01-05 or 2026-01-05T10:00:00+00:00)")
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


def _parse_conf(value: str | None) -> dict:
    if not value:
        return {}
    try:
        conf = json.loads(value)
    except ValueError as exc:
        raise SystemExit(f"leoflow: --conf is not valid JSON: {exc}")
    if not isinstance(conf, dict):
        raise SystemExit("leoflow: --conf must be a JSON object, e.g. '{\"rows\": 100}'")
    return conf


def _services_with_dags(args):
    """The home's database, brought up to date with the DAG folder (parsed here, in this process)."""
    from .context import services_with_dags

    return services_with_dags(args)


LIST_COLUMNS = ["dag_id", "fileloc", "owners", "is_paused"]


def list(args) -> int:  # noqa: A001 - the command is called list
    from sqlalchemy import select

    from leoflow.api import serializers
    from leoflow.store.tables import dag, dag_tag, import_error

    services = _services_with_dags(args)
    with services.engine.connect() as conn:
        rows = conn.execute(select(dag).where(dag.c.is_stale.is_(False)).order_by(dag.c.dag_id)).all()
        tags: dict = {}
        for t in conn.execute(select(dag_tag.c.dag_id, dag_tag.c.name)):
            tags.setdefault(t.dag_id, []).append(t.name)
        errors = len(conn.execute(select(import_error.c.id)).all())
    items = [serializers.dag(r, tags.get(r.dag_id, []), "") for r in rows]
    columns = args.columns or LIST_COLUMNS
    known = set(items[0]) if items else set(columns)
    if unknown := [c for c in columns if c not in known]:
        print(f"leoflow: ignoring the unknown columns {unknown}; the columns are: {', '.join(sorted(known))}",
              file=sys.stderr)
        columns = [c for c in columns if c not in unknown]
    if errors:  # the listing is not the whole folder: say so, on stderr so -o json stays parseable
        print(f"leoflow: {errors} file(s) in {services.settings.dags_folder} failed to import; "
              f"see `leoflow dags list-import-errors`", file=sys.stderr)
    if args.output == "plain" and not args.columns:
        for i in items:
            print(i["dag_id"])
        return 0
    print_rows(items, columns, args.output)
    return 0


def trigger(args) -> int:
    from leoflow.store import dags as dag_store, runs
    from leoflow.store.types import utcnow

    if args.run_id and (problem := runs.run_id_problem(args.run_id)):  # refused before the DAG folder is read
        print(f"leoflow: {problem}", file=sys.stderr)
        return 1
    services = _services_with_dags(args)
    logical = _parse_date(args.logical_date)
    with services.engine.begin() as conn:
        found = dag_store.latest_serialized(conn, args.dag_id)
        if found is None:
            from .context import fail

            raise fail(f"DAG {args.dag_id!r} not found in the DAG folder {services.settings.dags_folder}")
        version_id, data = found
        from leoflow.scheduler.params import conf_errors

        conf = _parse_conf(args.conf)
        errors = conf_errors(data, conf)
        if errors:
            print(f"leoflow: invalid conf for DAG {args.dag_id!r}: {'; '.join(errors)}", file=sys.stderr)
            return 1
        now = utcnow()
        try:
            run = runs.create_dag_run(conn, data, dag_version_id=version_id, run_type="manual", run_after=now,
                                      logical_date=logical, data_interval=(logical, logical) if logical else None,
                                      run_id=args.run_id, conf=conf, triggered_by="cli")
        except runs.RunExists as exc:
            print(f"leoflow: {exc}", file=sys.stderr)
            return 1
    services.bus.notify_scheduler(kind="run_created", dag_id=args.dag_id, run_id=run["run_id"])
    print(f"Created run {run['run_id']} of {args.dag_id} (queued)")
    return 0


def _set_paused(args, paused: bool) -> int:
    import re

    from sqlalchemy import select, update

    from leoflow.store.tables import dag

    from .context import fail

    services = _services_with_dags(args)
    with services.engine.connect() as conn:
        rows = conn.execute(select(dag.c.dag_id, dag.c.is_paused).where(dag.c.is_stale.is_(False))
                            .order_by(dag.c.dag_id)).all()
    if args.treat_dag_id_as_regex:
        try:
            pattern = re.compile(args.dag_id)
        except re.error as exc:
            raise fail(f"--treat-dag-id-as-regex: {args.dag_id!r} is not a regular expression ({exc})") from None
        matched = [r for r in rows if pattern.search(r.dag_id)]
    else:
        matched = [r for r in rows if r.dag_id == args.dag_id]
        if not matched:
            raise fail(f"DAG {args.dag_id!r} not found in the DAG folder {services.settings.dags_folder}")
    changing = [r for r in matched if bool(r.is_paused) != paused]
    if not changing:
        print(f"No {'un' if paused else ''}paused DAGs were found")
        return 0
    if args.treat_dag_id_as_regex and not args.yes:
        if not sys.stdin.isatty():
            raise fail(f"--treat-dag-id-as-regex matches {len(changing)} DAG(s): confirm with --yes "
                       f"(no terminal to ask on)")
        answer = input(f"You are about to {'' if paused else 'un'}pause {len(changing)} DAGs:\n"
                       f"{','.join(r.dag_id for r in changing)}\n\nAre you sure? [y/n]")
        if answer.strip().lower() not in ("y", "yes"):
            print("Operation cancelled by user")
            return 0
    ids = [r.dag_id for r in changing]
    with services.engine.begin() as conn:
        conn.execute(update(dag).where(dag.c.dag_id.in_(ids)).values(is_paused=paused))
    if not paused:
        for dag_id in ids:
            services.bus.notify_scheduler(kind="dag_unpaused", dag_id=dag_id)
    if args.treat_dag_id_as_regex or args.output != "table":
        print_rows([{"dag_id": r.dag_id, "is_paused": bool(r.is_paused)} for r in changing], ["dag_id", "is_paused"],
                   args.output)
    else:
        print(f"DAG {args.dag_id} is {'paused' if paused else 'unpaused'}")
    return 0


def pause(args) -> int:
    return _set_paused(args, True)


def unpause(args) -> int:
    return _set_paused(args, False)


def _home_fernet_key(settings) -> str | None:
    """The key the home's secrets are encrypted with, read only (a run never makes the home a key)."""
    if settings.fernet_key:
        return settings.fernet_key
    try:
        return (settings.home / "fernet.key").read_text().strip() or None
    except OSError:
        return None


def test(args) -> int:
    import base64
    import tempfile

    from leoflow.dagtest import test_dag

    from .log_stream import LogTail

    settings = _settings(args)
    folder = Path(settings.dags_folder)
    if not folder.is_dir():
        from .context import fail

        raise fail(f"DAG folder {folder} does not exist (use --dags-folder or LEOFLOW_DAGS_FOLDER)")
    # LEOFLOW_DAGS_TEST_HOME keeps the run's database and task logs in that folder (for scripts and debugging).
    keep = os.environ.get("LEOFLOW_DAGS_TEST_HOME")
    if not args.isolated and not keep:
        return _test_in_home(args, settings, folder)
    home = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="leoflow-dags-test-"))
    # The home's Variables, Connections and pools, read with the home's key; --isolated: none, and a key
    # that lives as long as the run (so no key file, and no notice about one).
    key = None if args.isolated else _home_fernet_key(settings)
    seed = None if args.isolated or key is None else settings.database_url
    key = key or base64.urlsafe_b64encode(os.urandom(32)).decode()
    out = sys.stderr if args.output == "json" else sys.stdout  # -o json: stdout holds only the JSON
    tail = None if args.quiet else LogTail(home / "logs", lambda line: print(line, file=out, flush=True)).start()
    try:
        result = test_dag(args.dag_id, folder, _parse_date(args.logical_date), _parse_conf(args.conf),
                          keep_home=home, fernet_key=key, seed_database_url=seed)
    finally:
        if tail is not None:
            tail.stop()
    try:
        return _report_test(args, result, tail)
    finally:
        if not keep:
            shutil.rmtree(home, ignore_errors=True)  # nothing left behind unless asked (the logs were printed)


def _test_in_home(args, settings, folder: Path) -> int:
    """The run happens in the home's own database (lite's SQLite, or a server's Postgres), held by this process
    while it runs (store/held_runs.py): it is listed afterwards, and its tasks see the earlier runs."""
    from leoflow.dagtest import RunStillActive, test_dag
    from leoflow.store.runs import make_run_id
    from leoflow.store.types import utcnow

    from .context import check_database_reachable, check_home_writable, fail
    from .log_stream import LogTail

    check_home_writable(settings.home)
    check_database_reachable(settings.database_url)
    when = _parse_date(args.logical_date) or utcnow()
    run_id = make_run_id("manual", when)  # as Airflow names it: from the logical date
    out = sys.stderr if args.output == "json" else sys.stdout  # -o json: stdout holds only the JSON
    # Only this run's logs: the home's logs folder also holds what a running lite's tasks write.
    logs = Path(settings.logs_folder) / f"dag_id={args.dag_id}" / f"run_id={run_id}"
    tail = None if args.quiet else LogTail(logs, lambda line: print(line, file=out, flush=True)).start()
    try:
        result = test_dag(args.dag_id, folder, when, _parse_conf(args.conf), home_settings=settings, run_id=run_id)
    except RunStillActive as exc:
        raise fail(str(exc)) from None
    finally:
        if tail is not None:
            tail.stop()
    return _report_test(args, result, tail)


def _report_test(args, result, tail) -> int:
    if result.run_state == "not_found":
        message = f"DAG {args.dag_id!r} not found in the DAG folder {_settings(args).dags_folder}"
        if result.import_error:
            message += f"; its file failed to import:\n{result.import_error}"
        if args.output == "json":
            print(json.dumps({"run_state": None, "error": message, "tasks": []}))
        print(f"leoflow: {message}", file=sys.stderr)
        return 1
    if result.run_state == "invalid_conf":
        message = f"Invalid conf for DAG {args.dag_id!r}: {result.import_error}"
        if args.output == "json":
            print(json.dumps({"run_state": None, "error": message, "tasks": []}))
        print(f"leoflow: {message}", file=sys.stderr)
        return 1
    if args.output == "json":
        print(json.dumps({"run_state": result.run_state, "tasks": result.tasks}))
    else:
        for t in result.tasks:
            index = f"[{t['map_index']}]" if t["map_index"] >= 0 else ""
            print(f"{t['task_id']}{index}: {t['state']} (try {t['try_number']})")
        print(f"DAG run {result.run_id}: {result.run_state}")
    failed = [t for t in result.tasks if t["state"] in ("failed", "upstream_failed")]
    if result.run_state != "success" and failed:
        print(f"Failed tasks: {', '.join(t['task_id'] for t in failed)}", file=sys.stderr)
        for t in failed:
            label = t["task_id"] + (f"[{t['map_index']}]" if t["map_index"] >= 0 else "")
            lines = tail.errors.get(label) if tail is not None else None
            if lines:
                print(f"\n{label} failed:\n" + "\n".join(lines), file=sys.stderr)
    return 0 if result.run_state == "success" else 1
