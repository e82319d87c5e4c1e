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


def hold_home_lock(home, wait: float = 10.0) -> object:
    """One lite process per home: a second would fight over the same tasks.

    The fork server and the tasks inherit the lock: a lite that was killed leaves it held until they have
    ended what they ran. A new lite waits for that (up to `wait` seconds) rather than start a retry beside
    a try that still runs.
    """
    from leoflow.config import make_home

    make_home(home)
    handle = os.fdopen(os.open(home / "lite.lock", os.O_RDWR | os.O_CREAT, 0o600), "r+")
    deadline = time.monotonic() + wait
    waiting = False
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            pass
        handle.seek(0)
        holder = handle.read().strip()
        if _alive(holder):
            raise SystemExit(f"leoflow: another `leoflow lite` is already running with home {home}")
        if time.monotonic() > deadline:
            raise SystemExit(f"leoflow: processes of an earlier `leoflow lite` (pid {holder}) still hold home "
                             f"{home} after {wait:g}s; end them first")
        if not waiting:
            waiting = True
            log.info("Waiting for the processes of the previous lite (pid %s) to end what they ran", holder)
        time.sleep(0.02)
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def _alive(pid_text: str) -> bool:
    try:
        os.kill(int(pid_text), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


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


def mode_lines(services) -> str:
    """The banner's lines saying what this lite runs on: database, bus, executors, airflow.cfg."""
    from .context import shown_url

    s = services.settings
    kind = getattr(services.bus, "kind", "")
    bus = {"memory": "in-process (lite)", "redis": f"Redis {shown_url(s.redis_url or '')}"}.get(
        kind, type(services.bus).__name__)
    lines = f"  database: {shown_url(s.database_url)}\n  bus: {bus}\n  executor: {s.executor}\n"
    if s.airflow_cfg_path:
        used = ", ".join(s.airflow_cfg_used) or "none"
        lines += (f"  airflow.cfg: {s.airflow_cfg_path} (used: {used}; ignored: {len(s.airflow_cfg_ignored)} keys "
                  f"Leoflow has no setting for or cannot use)\n")
    return lines


def install_requirements(settings) -> None:
    """The DAG folder's requirements.txt (or LEOFLOW_REQUIREMENTS) into $LEOFLOW_HOME/site-packages, when
    its content changed (before the fork server starts: its tasks then import what was installed)."""
    from leoflow.providers.libraries import ensure_requirements, requirements_file

    if requirements_file(settings.dags_folder) is not None:
        from leoflow import userlibs

        ensure_requirements(settings.dags_folder, userlibs.site_packages(inherited=True))


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
    if settings.airflow_cfg_path:
        log.info("Read %s: used %s; ignored %s", settings.airflow_cfg_path,
                 ", ".join(settings.airflow_cfg_used) or "no key", ", ".join(settings.airflow_cfg_ignored) or "none")
    from .context import check_home_writable, check_port

    check_home_writable(settings.home)
    lock = hold_home_lock(settings.home)  # held for the life of the process
    check_port(settings.host, settings.port)

    install_requirements(settings)
    # Fork the task server first: before any thread or database connection exists. It holds the home's
    # lock too, until it has ended every task (hold_home_lock).
    forkserver = ForkServer.start(keep_fds=(lock.fileno(),))

    from leoflow.asgi import StartingApp
    from leoflow.examples import seed_dags_folder
    from leoflow.httpserver import request_limits, serve_forever
    from leoflow.services import open_services

    if args.dags_folder is None and seed_dags_folder(settings.dags_folder):
        log.info("Created %s with the example DAGs", settings.dags_folder)
    settings.dags_folder.mkdir(parents=True, exist_ok=True)
    # Schema and Fernet key are checked before listening: a bad database or key stops the start here.
    services = open_services(settings, mode="lite")
    end_dead_jobs(services.engine)
    from leoflow.bus.home_socket import listen as listen_for_wakeups

    wake_socket = listen_for_wakeups(services.bus, settings.home)  # `leoflow ...` commands beside lite wake it
    front = StartingApp(services)
    url = f"http://{settings.host}:{settings.port}"
    listening = threading.Event()
    parts: dict = {}  # what boot() has started, for the shutdown below

    def boot():
        """Everything else, while the server already answers health: it reads the scheduler's own row."""
        from leoflow.boot import ControlPlane

        plane = ControlPlane(services, forkserver)
        parts["plane"] = plane
        plane.start_scheduler()
        plane.start_processor()
        # Loaded here, in one thread, before the threads below start: the lazy module is not for sharing.
        lazy_metadata.version  # noqa: B018 - the attribute read loads it
        # Tasks talk to the Execution API: hand them out once the server listens.
        listening.wait()
        plane.run()
        parts["running"] = True

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
              f"  DAGs: {settings.dags_folder}\n  home: {settings.home}\n{mode_lines(services)}"
              f"  Ctrl-C to stop.\n", flush=True)

    def boot_or_stop():
        try:
            boot()
        except BaseException as exc:  # the server must not run on without its scheduler or API
            parts["error"] = exc
            log.exception("leoflow lite could not start")
            os.kill(os.getpid(), signal.SIGTERM)

    def on_listening():
        listening.set()

    hurry = threading.Event()  # a second SIGTERM/SIGINT: stop the running tasks now
    signals: list[float] = []

    def on_signal(stop_server) -> None:
        """SIGTERM/SIGINT: drain (no new tasks; running ones finish within the grace period, the API
        serving them meanwhile), then stop the server. A second one cuts the grace short."""
        signals.append(time.monotonic())
        if len(signals) > 1:
            if not hurry.is_set():
                log.warning("Stopping now: ending the running tasks")
                hurry.set()
            return
        plane = parts.get("plane")
        if plane is None or "error" in parts or "running" not in parts:
            stop_server()  # nothing runs tasks yet
            return

        def drain_then_stop():
            try:
                plane.drain(settings.stop_grace("lite"), hurry)
            except Exception:
                log.exception("Draining the running tasks failed; stopping anyway")
            finally:
                stop_server()

        threading.Thread(target=drain_then_stop, name="shutdown", daemon=True).start()

    # While boot() imports, hand the GIL to the serving thread every 0.5 ms rather than 5 ms: health
    # and the first requests answer sooner (measured: median 1.44 s -> 1.13 s to healthy on a loaded host).
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(0.0005)
    threading.Thread(target=boot_or_stop, name="boot", daemon=True).start()
    try:
        serve_forever(front, settings.host, settings.port, on_ready=on_listening, on_signal=on_signal,
                      limits=request_limits(settings))
    finally:
        if wake_socket is not None:
            wake_socket.close()
        plane = parts.get("plane")
        if plane is not None:
            plane.close()
        else:
            forkserver.stop()
        print("Leoflow lite stopped.", file=sys.stderr)
    error = parts.get("error")
    if isinstance(error, SystemExit):
        raise error
    return 1 if error is not None else 0
