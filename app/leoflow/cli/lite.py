"""`leoflow lite`: API, UI, DAG processor, scheduler and local tasks in one process."""

from __future__ import annotations

import fcntl
import gc
import logging
import os
import signal
import sys
import threading
import time

log = logging.getLogger("leoflow")


def hold_home_lock(home) -> object:
    """One lite process per home: a second would fight over the same tasks."""
    home.mkdir(parents=True, exist_ok=True)
    handle = open(home / "lite.lock", "w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise SystemExit(f"leoflow: another `leoflow lite` is already running with home {home}")
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def os_thread_name(name: str, target):
    """Run `target` in a thread the OS knows by `name` (top -H, py-spy, /proc/PID/task/*/comm, the bench)."""

    def run():
        try:
            import ctypes

            ctypes.CDLL(None).prctl(15, name.encode()[:15], 0, 0, 0)  # PR_SET_NAME: this thread only
        except Exception:
            pass
        target()

    return threading.Thread(target=run, name=name, daemon=True)


def defer_importlib_metadata():
    """Make `importlib.metadata` load on first use, and return it.

    SQLAlchemy imports it at start (only to look up dialect plug-ins, which lite's built-in SQLite dialect
    never needs); executing it and the email and zipfile modules it pulls in was 5% of lite's start.
    The standard library's LazyLoader defers that until an attribute is read.
    """
    import importlib
    import importlib.util

    if "importlib.metadata" in sys.modules:
        return sys.modules["importlib.metadata"]
    spec = importlib.util.find_spec("importlib.metadata")
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules["importlib.metadata"] = module
    importlib.metadata = module
    spec.loader.exec_module(module)
    return module


def end_dead_jobs(engine) -> None:
    """Jobs left "running" by a lite that was killed: this process holds the home's lock, so none is alive.

    Health answers before the new scheduler writes its row; a beat of the dead one must not pass for it.
    """
    from sqlalchemy import update

    from leoflow.store.tables import job
    from leoflow.store.types import utcnow

    with engine.begin() as conn:
        conn.execute(update(job).where(job.c.state == "running",
                                       job.c.job_type.in_(["SchedulerJob", "DagProcessorJob"]))
                     .values(state="failed", end_date=utcnow()))


def run_lite(args) -> int:
    started = time.monotonic()
    # Start-up is mostly imports, which make many objects and no garbage worth collecting: the cyclic
    # collector ran dozens of times over them (10% of the start). It is back on once the app is built.
    gc.disable()
    lazy_metadata = defer_importlib_metadata()
    from leoflow import config
    from leoflow.executors.forkserver import ForkServer

    settings = config.load(home=args.home, dags_folder=args.dags_folder, host=args.host, port=args.port)
    if settings.task_runner == "airflow":  # a missing or wrong interpreter stops the start here, with why
        from leoflow.runner.airflow_runner import check_interpreter

        check_interpreter(settings.airflow_python)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    lock = hold_home_lock(settings.home)  # noqa: F841 - held for the life of the process

    from leoflow.httpserver import port_is_free

    if not port_is_free(settings.host, settings.port):
        raise SystemExit(f"leoflow: port {settings.port} on {settings.host} is in use; choose another with --port")

    # Fork the task server first: before any thread or database connection exists.
    forkserver = ForkServer.start()

    from leoflow.asgi import StartingApp
    from leoflow.examples import seed_dags_folder
    from leoflow.httpserver import serve_forever
    from leoflow.services import open_services

    if args.dags_folder is None and seed_dags_folder(settings.dags_folder):
        log.info("Created %s with the example DAGs", settings.dags_folder)
    settings.dags_folder.mkdir(parents=True, exist_ok=True)
    # Schema and Fernet key are checked before listening: a bad database or key stops the start here.
    services = open_services(settings, mode="lite")
    end_dead_jobs(services.engine)
    front = StartingApp(services)
    url = f"http://{settings.host}:{settings.port}"
    listening = threading.Event()
    parts: dict = {}  # what boot() has started, for the shutdown below

    def boot():
        """Everything else, while the server already answers health: it reads the scheduler's own row."""
        from leoflow.executors.local import LocalExecutor
        from leoflow.scheduler.loop import Scheduler
        from leoflow.store import jobs

        executor = LocalExecutor(forkserver, settings.parallelism, settings)
        scheduler = Scheduler(services, executor, token_secret=settings.secret("jwt-execution"))
        scheduler.start_job()
        parts["scheduler"] = scheduler
        scheduler.recover_orphans()

        from leoflow.dagproc.processor import DagProcessor, forkserver_parser

        processor = DagProcessor(services, forkserver_parser(forkserver),
                                 paused_by_default=settings.extra.get("dags_are_paused_at_creation", False))
        processor_job = jobs.start_job(services.engine, "DagProcessorJob")
        parts["processor"], parts["processor_job"] = processor, processor_job

        # Loaded here, in one thread, before the threads below start: the lazy module is not for sharing.
        lazy_metadata.version  # noqa: B018 - the attribute read loads it

        def heartbeat_processor():
            while not processor.stop.wait(5):
                jobs.heartbeat(services.engine, processor_job)

        # Tasks talk to the Execution API: hand them out once the server listens.
        listening.wait()
        for name, target in (("scheduler", scheduler.run_forever), ("dag-processor", processor.run_forever),
                             ("heartbeat", heartbeat_processor)):
            os_thread_name(name, target).start()

        from leoflow.api.auth import ensure_admin_password
        from leoflow.asgi import build_app

        password = ensure_admin_password(settings)
        front.app = build_app(services)
        sys.setswitchinterval(switch_interval)
        # What start-up made lives as long as the process: later collections need not walk it again.
        gc.collect()
        gc.freeze()
        gc.enable()
        # The fork server imports the task runtime once this process has started: on 2 cores, its imports
        # beside lite's own delayed health by 10-20 ms. A task queued earlier warms it up itself.
        forkserver.warm()
        print(f"\nLeoflow lite is running at {url}  (started in {time.monotonic() - started:.2f}s)\n"
              f"  user: admin   password: {password}\n"
              f"  DAGs: {settings.dags_folder}\n  home: {settings.home}\n  Ctrl-C to stop.\n", flush=True)

    def boot_or_stop():
        try:
            boot()
        except BaseException as exc:  # the server must not run on without its scheduler or API
            parts["error"] = exc
            log.exception("leoflow lite could not start")
            os.kill(os.getpid(), signal.SIGTERM)

    def on_listening():
        listening.set()

    # While boot() imports, hand the GIL to the serving thread every 0.5 ms rather than 5 ms: health
    # and the first requests answer sooner (measured: median 1.44 s -> 1.13 s to healthy on a loaded host).
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(0.0005)
    threading.Thread(target=boot_or_stop, name="boot", daemon=True).start()
    try:
        serve_forever(front, settings.host, settings.port, on_ready=on_listening)
    finally:
        from leoflow.store import jobs

        scheduler, processor = parts.get("scheduler"), parts.get("processor")
        if scheduler is not None:
            scheduler.stop.set()
        if processor is not None:
            processor.stop.set()
            processor.wake.set()
        forkserver.stop()
        if scheduler is not None and scheduler.job_id is not None:
            jobs.end_job(services.engine, scheduler.job_id)
        if "processor_job" in parts:
            jobs.end_job(services.engine, parts["processor_job"])
        print("Leoflow lite stopped.", file=sys.stderr)
    error = parts.get("error")
    if isinstance(error, SystemExit):
        raise error
    return 1 if error is not None else 0
