"""`leoflow dags test`: one DAG run, start to finish, inside this process.

It is the real machinery in miniature: the fork server, the Execution API on a
loopback port, and the scheduler loop driven until the run ends. No server needs
to be running. The run happens in the home's own database (`home_settings`: its
Variables, Connections, earlier runs and asset events; the run is listed there
afterwards), held by this process while it lives (store/held_runs.py), so a lite
or server running on the same home never schedules it too; or in a throw-away
home with its own SQLite database (tests, `--isolated`).
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .store import jobs, runs


@dataclass
class TestRun:
    dag_id: str
    run_id: str
    run_state: str
    tasks: list[dict] = field(default_factory=list)  # task_id, map_index, state, try_number
    import_error: str | None = None
    home: Path | None = None


def find_dag_file(folder: Path, dag_id: str) -> list[str]:
    """Files likely to define `dag_id` first (naming it as a string or a function), then the rest."""
    from .dagproc.processor import list_dag_files

    ident = dag_id.encode()
    strong = (b'"' + ident + b'"', b"'" + ident + b"'", b"def " + ident + b"(")
    ranked: list[tuple[int, str]] = []
    rest = []
    for path in sorted(list_dag_files(folder)):
        try:
            text = Path(path).read_bytes()
        except OSError:
            text = b""
        if any(s in text for s in strong):
            ranked.append((0, path))
        elif ident in text:
            ranked.append((1, path))
        else:
            rest.append(path)
    return [p for _, p in sorted(ranked)] + rest


def _template_database(home: Path) -> None:
    """Start the throw-away database from a cached, already migrated copy: migrating takes longer
    than the typical test run. The cache is keyed by the migration files, so a new schema rebuilds it."""
    import hashlib

    import platformdirs

    from .store import migrate
    from .store.engine import make_engine

    versions = Path(migrate.__file__).parent / "migrations" / "versions"
    digest = hashlib.sha256()
    for f in sorted(versions.glob("*.py")):
        digest.update(f.name.encode() + f.read_bytes())
    cache = Path(platformdirs.user_cache_dir("leoflow")) / f"dags-test-{digest.hexdigest()[:16]}.db"
    target = home / "leoflow.db"
    if not cache.exists():
        cache.parent.mkdir(parents=True, exist_ok=True)
        building = cache.with_suffix(f".{os.getpid()}.tmp")
        engine = make_engine(f"sqlite:///{building}")
        try:
            migrate.upgrade(engine)
        finally:
            engine.dispose()
        os.replace(building, cache)
    shutil.copyfile(cache, target)


def dag_finder_for(processor, dags_folder) -> Callable[[str], bool]:
    """What the Execution API calls when a task triggers a DAG this run has not parsed: parse the files
    that mention the DAG id until one defines it (True when found)."""
    from .store import dags as store

    def find(dag_id: str) -> bool:
        for path in find_dag_file(Path(dags_folder), dag_id):
            if dag_id.encode() not in Path(path).read_bytes():
                break  # the rest of the folder does not mention it
            processor.process_file(path)
            with processor.services.engine.connect() as conn:
                if store.get_dag(conn, dag_id) is not None:
                    return True
        return False

    return find


def _mentions(path: str, dag_id: str) -> bool:
    try:
        return dag_id.encode() in Path(path).read_bytes()
    except OSError:
        return False


# The home's settings, and its assets with their events: a task's `inlet_events` sees what earlier runs made
# (the events' source runs are not copied; asset-triggered scheduling reads asset_dag_run_queue, which is not).
SEEDED_TABLES = ("variable", "connection", "slot_pool", "asset", "asset_active", "asset_event")


def copy_home_settings(source_url: str, engine) -> int:
    """Copy the Variables, Connections, pools, assets and asset events of the database at `source_url` into
    `engine`'s (rows as stored: secrets stay encrypted with the same key); how many rows. A database not made yet gives none."""
    from sqlalchemy import delete, inspect, select

    from .store import tables
    from .store.engine import make_engine

    if source_url.startswith("sqlite:///") and not Path(source_url[len("sqlite:///"):]).exists():
        return 0
    source = make_engine(source_url, pool_size=1)
    copied = 0
    try:
        with source.connect() as src, engine.begin() as dst:
            present = set(inspect(src).get_table_names())
            for name in SEEDED_TABLES:
                if name not in present:
                    continue
                table = tables.metadata.tables[name]
                try:
                    rows = [dict(r._mapping) for r in src.execute(select(table))]
                except Exception:  # noqa: BLE001 - a home at another schema revision: its rows are left out
                    logging.getLogger(__name__).warning("Could not read the home's %s rows", name, exc_info=True)
                    continue
                dst.execute(delete(table))
                if rows:
                    dst.execute(table.insert(), rows)
                copied += len(rows)
    finally:
        source.dispose()
    return copied


def discard_home(result: "TestRun") -> None:
    """Remove a throw-away home (its database and task logs) once nobody needs to read them."""
    if result.home is not None and result.home.name.startswith("leoflow-dags-test-"):
        shutil.rmtree(result.home, ignore_errors=True)


TEST_JOB = "DagTestJob"


class RunStillActive(Exception):
    """`dags test DAG DATE` in the home, where a run of that date is still queued or running."""


def _replace_run_of(conn, dag_id: str, logical_date: dt.datetime) -> None:
    """As Airflow's `dags test`: a finished run of the same logical date makes way for the new one."""
    from sqlalchemy import delete, select

    from .store.tables import (dag_run, rendered_task_instance_fields, task_instance, task_instance_history,
                               xcom)

    old = conn.execute(select(dag_run).where(dag_run.c.dag_id == dag_id,
                                             dag_run.c.logical_date == logical_date)).first()
    if old is None:
        return
    if old.state in ("queued", "running"):
        raise RunStillActive(f"DAG run {old.run_id!r} of DAG {dag_id!r} has that logical date and is still "
                             f"{old.state}: wait for it, or give another logical date")
    for table in (xcom, rendered_task_instance_fields, task_instance_history, task_instance):
        conn.execute(delete(table).where(table.c.dag_id == dag_id, table.c.run_id == old.run_id))
    conn.execute(delete(dag_run).where(dag_run.c.id == old.id))


def _finish(services, scheduler, run) -> None:
    """Leave nothing held: a run that did not end (the timeout, Ctrl-C, an error) is marked failed as the UI
    marks one (its running tries failed, the rest skipped), so no other scheduler takes it up; then the
    process's job ends."""
    try:
        if run is not None:
            with services.engine.begin() as conn:
                row = runs.get_run(conn, run["dag_id"], run["run_id"])
                if row is not None and row.state in ("queued", "running"):
                    from .api.dag_runs import set_run_state

                    set_run_state(conn, row, "failed")
        jobs.end_job(services.engine, scheduler.job_id)
    except Exception:  # noqa: BLE001 - the database is away: the run stops being held once the job is silent
        logging.getLogger(__name__).warning("Could not end the test run's job", exc_info=True)


def _execution_app(services):
    """Only the Execution API: a test run's tasks need nothing else (and the REST API costs start-up time)."""
    from starlette.applications import Starlette
    from starlette.routing import Mount

    from .execution_api import execution_routes

    app = Starlette(routes=[Mount("/execution", routes=execution_routes(services))])
    app.state.services = services
    return app


def _open(dags_folder, keep_home, database_url, redis_url, fernet_key, seed_database_url, home_settings):
    """(services, settings, throw-away home or None) for the run: the home's database, or a throw-away one."""
    from . import config
    from .services import open_services

    if home_settings is not None:
        settings, home = copy.copy(home_settings), None  # the port and thresholds set below are this run's
        settings.dags_folder = Path(dags_folder)
        mode = "lite" if settings.database_url.startswith("sqlite") else "server"  # the key, as every command
        settings.redis_url = None
        settings.zombie_threshold = max(settings.zombie_threshold, 60.0)
        services = open_services(settings, mode=mode)
        from .bus import connect

        # Its wake-ups are its own: no lite or server has anything to do for a run this process holds.
        services.bus = connect(None)
    else:
        home = keep_home or Path(tempfile.mkdtemp(prefix="leoflow-dags-test-"))
        home.mkdir(parents=True, exist_ok=True)
        settings = config.load(home=home, dags_folder=dags_folder)
        settings.database_url = database_url or f"sqlite:///{home / 'leoflow.db'}"
        if database_url is None and not (home / "leoflow.db").exists():
            try:
                _template_database(home)
            except Exception:  # no cache dir, read-only home...: migrate in place instead
                logging.getLogger(__name__).debug("No cached database template", exc_info=True)
        settings.redis_url = redis_url
        settings.zombie_threshold = max(settings.zombie_threshold, 60.0)
        if fernet_key:
            settings.fernet_key = fernet_key
        services = open_services(settings, mode="lite")
        if seed_database_url:
            copy_home_settings(seed_database_url, services.engine)
    return services, settings, home


def test_dag(dag_id: str, dags_folder: Path, logical_date: dt.datetime | None = None, conf: dict | None = None,
             *, timeout: float = 3600.0, forkserver=None, keep_home: Path | None = None,
             database_url: str | None = None, redis_url: str | None = None, fernet_key: str | None = None,
             seed_database_url: str | None = None, home_settings=None, run_id: str | None = None) -> TestRun:
    """Run `dag_id` once. By default on a throw-away SQLite and the in-process bus; tests pass
    `database_url`/`redis_url` to drive the same run through Postgres and Redis.

    `fernet_key` encrypts the run's secrets (else the throw-away home gets a key file); with
    `seed_database_url` (the home's database, encrypted with that key) its Variables, Connections and
    pools are copied in first, so the tasks read what the home holds.

    `home_settings` (a home's configuration) instead runs it in that home's database, its task logs in the
    home's logs folder, as run `run_id` (default `manual__NOW`); a run of the same logical date is replaced,
    as Airflow's `dags test` does, unless it is still unfinished."""
    from .dagproc.processor import DagProcessor, forkserver_parser
    from .executors.forkserver import ForkServer
    from .executors.local import LocalExecutor
    from .httpserver import BackgroundServer
    from .scheduler.loop import Scheduler
    from .store import dags as dag_store, tis
    from .store.types import utcnow

    own_forkserver = forkserver is None
    forkserver = forkserver or ForkServer.start()  # before threads: children fork from a clean process
    try:
        services, settings, home = _open(dags_folder, keep_home, database_url, redis_url, fernet_key,
                                         seed_database_url, home_settings)
    except BaseException:
        if own_forkserver:
            forkserver.stop()
        raise
    server = BackgroundServer(_execution_app(services)).start()
    settings.port = server.port
    settings.host = server.host
    parser = forkserver_parser(forkserver)
    scheduler = run = None
    try:
        processor = DagProcessor(services, parser, paused_by_default=False)
        from .execution_api import cross_dag

        cross_dag.dag_finder = dag_finder_for(processor, dags_folder)  # TriggerDagRun targets, on demand
        found = None
        first_error = None
        quiet = logging.getLogger("leoflow.dagproc.processor")
        level = quiet.level
        quiet.setLevel(logging.ERROR)  # other files' import errors are not this command's business
        try:
            for path in find_dag_file(Path(dags_folder), dag_id):
                mentions = _mentions(path, dag_id)
                if first_error is not None and not mentions:
                    break  # the file that names the DAG failed: do not parse the whole folder looking for it
                processor.process_file(path)
                with services.engine.connect() as conn:
                    found = dag_store.latest_serialized(conn, dag_id)
                    if found is not None and found[1].get("fileloc") != path:
                        found = None  # the home's version from another folder: not what this folder defines
                    if found is None and first_error is None:
                        err = [e for e in dag_store.import_errors(conn) if e.filename == path]
                        if err and mentions:
                            first_error = err[0].stacktrace
                if found:
                    break
        finally:
            quiet.setLevel(level)
        if found is None:
            return TestRun(dag_id, "", "not_found", import_error=first_error, home=home)
        version_id, data = found
        from .scheduler.params import conf_errors

        errors = conf_errors(data, conf)
        if errors:  # as Airflow: an invalid conf creates no run
            return TestRun(dag_id, "", "invalid_conf", import_error="; ".join(errors), home=home)
        when = logical_date or utcnow()
        executor = LocalExecutor(forkserver, settings.parallelism, settings)
        scheduler = Scheduler(services, executor, token_secret=settings.secret("jwt-execution"),
                              create_scheduled_runs=False)
        # Its own job type: a `dags test` is not the home's scheduler (`jobs check`, the health endpoint).
        scheduler.job_id = jobs.start_job(services.engine, TEST_JOB, executor.name)
        with services.engine.begin() as conn:
            if home_settings is not None and logical_date is not None:
                _replace_run_of(conn, dag_id, when)
            # As Airflow 3.2's `dags test`: a manual run, triggered by "test"; it starts running at once (a
            # paused DAG or max_active_runs do not hold it), and in a home this process's job holds it.
            run = runs.create_dag_run(conn, data, dag_version_id=version_id, run_type="manual",
                                      run_after=when, logical_date=when, data_interval=(when, when),
                                      run_id=run_id or f"manual__{utcnow().isoformat()}", conf=conf,
                                      triggered_by="test", state="running",
                                      creating_job_id=scheduler.job_id if home_settings is not None else None)
        if home_settings is not None:  # the home's other runs are its scheduler's (a throw-away home has none)
            scheduler.serve_only(dag_id, run["run_id"])
        deadline = time.monotonic() + timeout
        state = "queued"
        while time.monotonic() < deadline:
            scheduler._dirty.add((dag_id, run["run_id"]))
            scheduler.tick()
            state = scheduler.evaluate_run(dag_id, run["run_id"], utcnow())
            if state not in ("queued", "running"):
                break
            scheduler._wait()
        # A try the run no longer waits for (fail_fast, a run that timed out) learns it at its next heartbeat
        # and stops its own work (`on_kill`): give it that long rather than killing it outright.
        grace = time.monotonic() + settings.task_heartbeat_interval + 5.0
        while executor.free_slots() < executor.parallelism and time.monotonic() < grace:
            time.sleep(0.1)
        with services.engine.connect() as conn:
            rows = tis.tis_of_run(conn, dag_id, run["run_id"])
        tasks = sorted(({"task_id": r.task_id, "map_index": r.map_index, "state": r.state,
                         "try_number": r.try_number} for r in rows), key=lambda t: (t["task_id"], t["map_index"]))
        return TestRun(dag_id, run["run_id"], state, tasks, home=home)
    finally:
        from .execution_api import cross_dag

        cross_dag.dag_finder = None
        if scheduler is not None:
            _finish(services, scheduler, run)
        server.stop()
        if own_forkserver:
            forkserver.stop()
        services.engine.dispose()
        shutil.rmtree(parser.workdir, ignore_errors=True)  # the parses' scratch folder: nothing left behind
