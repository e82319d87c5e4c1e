"""What the everyday commands share: the configured database, errors a person can act on, the wake-up.

A command works on the database the configuration names (lite's home or a server's Postgres), with the
Fernet key the REST API uses, so what it writes is what the UI shows. A command that changes state wakes a
running lite or server's scheduler (`bus.home_socket`, Redis or Postgres) so it takes effect at once.
"""

from __future__ import annotations

import argparse
import sys


class UsageError(Exception):
    """A mistake the person can fix: printed as one line `leoflow: ...`, exit code 2 (no traceback)."""


def fail(message: str) -> UsageError:
    return UsageError(message)


def settings(args):
    from leoflow import config

    return config.load(home=getattr(args, "home", None), dags_folder=getattr(args, "dags_folder", None))


def shown_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a URL SQLAlchemy cannot read is shown as given
        return url


def check_home_writable(home) -> None:
    from leoflow.config import make_home

    try:
        make_home(home)
        probe = home / ".leoflow-write-probe"
        probe.touch()
        probe.unlink()
    except OSError as exc:
        raise fail(f"home {home} is not writable ({exc.strerror or exc}); give a folder you can write with "
                   f"--home or LEOFLOW_HOME") from None


def check_database_reachable(url: str) -> None:
    """Connect once, so an unreachable database is one line naming the URL, not a driver's traceback."""
    from sqlalchemy import text

    from leoflow.store.engine import make_engine

    engine = make_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - every driver error means the same thing to the person
        raise unreachable(url, exc) from None
    finally:
        engine.dispose()


# What the drivers say when they cannot connect, and what the person should check (first match wins).
_REASONS = (
    ("connection refused", "connection refused",
     "that the database server is running and listens on that host and port"),
    ("timeout expired", "no answer in time", "that the host is reachable from here (address, firewall)"),
    ("timed out", "no answer in time", "that the host is reachable from here (address, firewall)"),
    ("could not translate host name", "unknown host", "the host name in the URL"),
    ("name or service not known", "unknown host", "the host name in the URL"),
    ("password authentication failed", "the password was refused", "the user and password in the URL"),
    ("no password supplied", "a password is required", "the user and password in the URL"),
    ("does not exist", "no such database or role", "the database and user names in the URL (create the "
                                                    "database first)"),
    ("unable to open database file", "cannot open the file", "that the file's folder exists and is writable"),
)


def unreachable(url: str, exc) -> UsageError:
    text = " ".join(str(getattr(exc, "orig", None) or exc).split()).lower()
    for needle, reason, what in _REASONS:
        if needle in text:
            break
    else:
        reason, what = _first_line(getattr(exc, "orig", None) or exc), "the URL and that the database is running"
    return fail(f"cannot reach the database {shown_url(url)}: {reason}; check {what}, or set "
                f"LEOFLOW_DATABASE_URL")


def is_connect_error(exc) -> bool:
    """A driver error from connecting (not from a statement): the database is unreachable."""
    from sqlalchemy.exc import OperationalError

    if not isinstance(exc, OperationalError):
        return False
    text = str(exc.orig or exc).lower()
    return text.startswith(("connection failed", "connection to server")) or "unable to open database file" in text


def check_port(host: str, port: int) -> None:
    from leoflow.httpserver import port_is_free

    if not 1 <= port <= 65535:
        raise fail(f"port {port} is out of range: give a port from 1 to 65535 with --port or LEOFLOW_PORT")
    if not port_is_free(host, port):
        raise fail(f"port {port} on {host} is in use by another process: stop it, or give another port with "
                   f"--port or LEOFLOW_PORT")


def _first_line(exc) -> str:
    text = str(exc).strip()
    return text.splitlines()[0].rstrip(".") if text else type(exc).__name__


def open_store(args):
    """The configured database (migrated, as `leoflow lite` would), its Fernet key and a bus that reaches a
    running lite or server: a `Services` for the store functions the REST API uses."""
    from leoflow.bus.home_socket import WakingBus
    from leoflow.services import open_services

    s = settings(args)
    check_home_writable(s.home)
    check_database_reachable(s.database_url)
    mode = "lite" if s.database_url.startswith("sqlite") else "server"
    services = open_services(s, mode=mode)
    services.bus = WakingBus(s.home, services.bus)
    return services


def services_with_dags(args):
    """`open_store`, with the database brought up to date with the DAG folder (parsed in this process)."""
    import logging

    from leoflow.dagproc.processor import DagProcessor, inprocess_parser

    # Import errors are stored and summed up in one line by the commands (`dags list-import-errors` shows
    # them); the processor's own log line with each traceback is for the long-running processes.
    logging.getLogger("leoflow.dagproc.processor").setLevel(logging.ERROR)
    services = open_store(args)
    processor = DagProcessor(services, inprocess_parser, paused_by_default=False)
    processor.refresh()
    return services


def read_json_file(path: str, what: str):
    """A JSON file named on the command line ("-" is stdin), or a one-line error."""
    import json

    try:
        text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()
    except FileNotFoundError:
        raise fail(f"no {what} file {path}") from None
    except OSError as exc:
        raise fail(f"cannot read {what} file {path}: {exc.strerror}") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise fail(f"{what} file {path} is not valid JSON: {exc}") from None


def write_text_file(path: str, text: str) -> None:
    """Write to the file ("-" or "/dev/stdout": standard output)."""
    if path in ("-", "/dev/stdout"):
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as exc:
        raise fail(f"cannot write {path}: {exc.strerror}") from None


def report(message: str, path: str) -> None:
    """A summary line; on stderr when the data itself went to stdout, so a pipe gets only the data."""
    print(message, file=sys.stderr if path in ("-", "/dev/stdout") else sys.stdout)


def output_arg(q, default: str = "table") -> None:
    from .output import FORMATS

    q.add_argument("-o", "--output", choices=FORMATS, default=default,
                   help="output format (default: %(default)s)")


def common_args(q, *, dags: bool = False) -> None:
    q.add_argument("--home", help="folder holding all state (default: LEOFLOW_HOME or the user data dir)")
    if dags:
        q.add_argument("--dags-folder", "-S", "--subdir", dest="dags_folder",
                       help="folder of DAG files (default: LEOFLOW_DAGS_FOLDER or HOME/dags)")
    q.add_argument("-v", "--verbose", action="store_true", help=argparse.SUPPRESS)

