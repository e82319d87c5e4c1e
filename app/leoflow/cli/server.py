"""`leoflow server`: one production replica on Postgres (and Redis, when given).

Every replica serves everything a user or a task calls; several replicas share one database, where
the scheduler of one of them leads at a time (scheduler/leadership.py). `leoflow migrate` is the
deploy step: a replica on a schema that is behind waits for it (or migrates with --migrate) and one on
a schema ahead of it refuses to start.
"""

from __future__ import annotations

import logging
import sys
import threading
import time

log = logging.getLogger("leoflow")

SCHEMA_WAIT_MESSAGE_EVERY = 5.0


def check_settings(settings) -> list[str]:
    """What a server needs that lite makes up by itself; every problem at once."""
    problems = []
    url = settings.database_url or ""
    if not url.startswith(("postgres://", "postgresql://", "postgresql+")):
        problems.append("LEOFLOW_DATABASE_URL must be a Postgres URL (postgresql://USER:PASSWORD@HOST/DB), got "
                        f"{_hide_password(url)!r}; for one machine on SQLite use `leoflow lite`")
    if not settings.fernet_key:
        problems.append("LEOFLOW_FERNET_KEY is not set: it encrypts connections and variables and must be the "
                        "same on every replica (make one with `python -c 'from cryptography.fernet import "
                        "Fernet; print(Fernet.generate_key().decode())'`)")
    if not settings.secret_key:
        problems.append("LEOFLOW_SECRET_KEY is not set: it signs every token and must be the same on every "
                        "replica (any long random string, e.g. `openssl rand -hex 32`)")
    return problems


def _hide_password(url: str) -> str:
    """The URL with its password as `***` (urllib, not SQLAlchemy: this runs before the fork server starts,
    and whatever is imported by then is in every task's process)."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        user, _, host = parts.netloc.rpartition("@")
        return urlunsplit(parts._replace(netloc=f"{user.partition(':')[0]}:***@{host}"))
    except ValueError:  # not a URL at all: show it as given
        return url


def wait_for_schema(settings, *, migrate: bool, timeout: float) -> None:
    """Return once the schema is this build's; exit with a clear message when it cannot become so."""
    from sqlalchemy.exc import SQLAlchemyError

    from ..store import migrate as migrations
    from ..store.engine import make_engine
    from ..store.migrations_head import HEAD

    engine = make_engine(settings.database_url)
    started = time.monotonic()
    last_said = None
    try:
        while True:
            try:
                state, revision = migrations.schema_state(engine)
                problem = None
            except SQLAlchemyError as exc:
                state, revision, problem = "unreachable", None, str(exc).splitlines()[0]
            if state == "current":
                return
            if state == "ahead":
                from ..services import refuse_airflow_database

                refuse_airflow_database(engine, settings.database_url, settings)
                raise SystemExit(f"leoflow: the database schema is at revision {revision}, newer than this "
                                 f"Leoflow's {HEAD}: upgrade this server (a newer build migrated the database)")
            if state in ("empty", "behind") and migrate:
                log.info("Migrating the database from %s to %s (--migrate)", revision or "an empty schema", HEAD)
                migrations.upgrade(engine)
                continue
            waited = time.monotonic() - started
            if waited > timeout:
                what = (f"could not reach the database: {problem}" if state == "unreachable" else
                        f"the database schema is {'empty' if state == 'empty' else 'at ' + revision}, "
                        f"this Leoflow needs {HEAD}")
                raise SystemExit(f"leoflow: gave up after {timeout:.0f} s: {what}; run `leoflow migrate` "
                                 "(or start with --migrate)")
            if last_said is None or time.monotonic() - last_said >= SCHEMA_WAIT_MESSAGE_EVERY:
                last_said = time.monotonic()
                if state == "unreachable":
                    log.warning("Waiting for the database %s: %s", _hide_password(settings.database_url), problem)
                else:
                    log.warning("Waiting for `leoflow migrate`: the schema is %s, this Leoflow needs %s "
                                "(%.0f s of %.0f s)", "empty" if state == "empty" else f"at {revision}", HEAD,
                                waited, timeout)
            time.sleep(1.0)
    finally:
        engine.dispose()  # before the fork server forks: no connection is shared with it


def run_server(args) -> int:
    from .. import config
    from ..boot import ControlPlane, parse_components

    components = parse_components(args.components)
    settings = config.load(home=args.home, dags_folder=args.dags_folder, host=args.host, port=args.port)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if settings.airflow_cfg_path:
        log.info("Read %s: used %s; ignored %s", settings.airflow_cfg_path,
                 ", ".join(settings.airflow_cfg_used) or "no key", ", ".join(settings.airflow_cfg_ignored) or "none")
    problems = check_settings(settings)
    if problems:
        for problem in problems:
            print(f"leoflow server: {problem}", file=sys.stderr)
        return 2
    if "api" in components:  # a port in use or out of range: one line, before anything starts
        from .context import check_port

        check_port(settings.host, settings.port)
    tls = _tls_context(args)
    scheme = "https" if tls else "http"
    if tls and not settings.base_url:
        # The replica's own tasks reach it on loopback over TLS, trusting exactly its certificate.
        settings.base_url = f"https://{config.client_host(settings.host)}:{settings.port}"
        if not settings.execution_api_ca_file:
            settings.execution_api_ca_file, settings.execution_api_ca_pinned = args.tls_cert, True
    log.info("Leoflow server %s on %s://%s:%s, components: %s", _version(), scheme, settings.host, settings.port,
             ",".join(c for c in ("api", "scheduler", "dag-processor", "triggerer") if c in components))
    if tls is None:
        log.warning("Serving plain HTTP: put a TLS-terminating proxy in front, or start with --tls-cert/--tls-key")
    log.info("Database %s; bus %s", _hide_password(settings.database_url),
             _hide_password(settings.redis_url) if settings.redis_url else "Postgres LISTEN/NOTIFY (no Redis)")

    forkserver = None
    if components & {"scheduler", "dag-processor", "triggerer"}:
        from ..executors.forkserver import ForkServer
        from .lite import install_requirements

        install_requirements(settings)  # the DAG folder's requirements.txt, into the home (ADR 24)

        # Before any thread or database connection exists, and before the schema check imports the
        # database drivers and migrations: every task forks from this process (from a 29 MB one rather
        # than a 48 MB one, ~2 ms less per task start) and its templates.
        forkserver = ForkServer.start()
    try:
        wait_for_schema(settings, migrate=args.migrate, timeout=settings.schema_wait_timeout)
    except BaseException:
        if forkserver is not None:
            forkserver.stop()
        raise

    from ..asgi import build_app
    from ..services import open_services

    settings.home.mkdir(parents=True, exist_ok=True)
    settings.dags_folder.mkdir(parents=True, exist_ok=True)
    services = open_services(settings, mode="server", migrate=False)
    plane = ControlPlane(services, forkserver, components)
    plane.start_scheduler()
    plane.start_processor()
    app = build_app(services, api="api" in components)
    return _serve(services, plane, app, tls)


def _serve(services, plane, app, tls) -> int:
    """Serve until SIGTERM/SIGINT, then stop gracefully (a second signal stops at once)."""
    from ..httpserver import request_limits, serve_forever

    settings = services.settings
    hurry = threading.Event()
    signals: list[float] = []

    def on_signal(stop_server) -> None:
        """SIGTERM: readiness false, scheduling handed over at once, running tries finish (up to the
        grace period) while the API serves them, then the server stops. A second signal: now."""
        signals.append(time.monotonic())
        if len(signals) > 1:
            if not hurry.is_set():
                log.warning("Stopping now: ending the running tasks")
                hurry.set()
            return

        def drain_then_stop():
            grace = settings.stop_grace("server")
            log.info("Stopping: another replica takes over scheduling; running tries get up to %g s", grace)
            try:
                plane.drain(grace, hurry)
            except Exception:  # noqa: BLE001
                log.exception("Draining the running tasks failed; stopping anyway")
            finally:
                stop_server()

        threading.Thread(target=drain_then_stop, name="shutdown", daemon=True).start()

    try:
        serve_forever(app, settings.host, settings.port, on_ready=plane.run, on_signal=on_signal,
                      limits=request_limits(settings), ssl_context=tls)
    finally:
        plane.close()
        log.info("Leoflow server stopped")
    return 0


def _tls_context(args):
    if not (args.tls_cert or args.tls_key):
        return None
    if not (args.tls_cert and args.tls_key):
        raise SystemExit("leoflow: --tls-cert and --tls-key go together")
    from ..tls import server_context

    try:
        return server_context(args.tls_cert, args.tls_key, client_ca=args.tls_client_ca)
    except (OSError, ValueError) as exc:
        raise SystemExit(f"leoflow: cannot serve TLS: {exc}")


def _version() -> str:
    from .. import __version__

    return __version__


def add_parser(sub) -> None:
    p = sub.add_parser("server", help="one production replica: API, UI, scheduler, DAG processor on Postgres")
    p.add_argument("--home", help="folder for local state: task logs, the DAG folder by default")
    p.add_argument("--dags-folder", "-S", "--subdir", dest="dags_folder",
                   help="folder of DAG files (default: LEOFLOW_DAGS_FOLDER or HOME/dags)")
    p.add_argument("--host", help="address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)")
    p.add_argument("--port", type=int, help="port to listen on (default 8080)")
    p.add_argument("--components", help="what this replica runs: a comma list of api, scheduler, "
                                         "dag-processor, triggerer (default: all)")
    p.add_argument("--tls-cert", help="PEM certificate (chain) to serve HTTPS with")
    p.add_argument("--tls-key", help="PEM private key of --tls-cert")
    p.add_argument("--tls-client-ca", help="PEM CA bundle: clients must present a certificate it signed")
    p.add_argument("--migrate", action="store_true",
                   help="apply the schema migrations at start instead of waiting for `leoflow migrate`")
