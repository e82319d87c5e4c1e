"""`leoflow server` starts its fork server before it imports the database drivers and migrations: every
task forks from it, and what it imported is in every task's process (48 MB against lite's 29 MB when the
start-up line that hides the URL's password imported SQLAlchemy first; each task start cost ~2 ms more)."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = '''
import sys
from leoflow.executors import forkserver


class Started(BaseException):
    pass


def start(cls, *args, **kwargs):
    heavy = ("sqlalchemy", "psycopg", "alembic", "redis", "prometheus_client", "starlette")
    print("LOADED", sorted(name for name in heavy if name in sys.modules), flush=True)
    raise Started


forkserver.ForkServer.start = classmethod(start)
from leoflow.cli.main import main

try:
    main(["server", "--home", sys.argv[1], "--port", sys.argv[2]])
except Started:
    pass
'''


def test_the_fork_server_starts_before_the_database_drivers_are_imported(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
           "LEOFLOW_DATABASE_URL": "postgresql://leoflow:secret@127.0.0.1:1/none",
           "LEOFLOW_FERNET_KEY": "kqgO6F1tZ5UeyVZQ5U1qg5mZK8d1ZOVZ6iL8cQ2JZ2o=", "LEOFLOW_SECRET_KEY": "x" * 32}
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "home"), str(port)], env=env, capture_output=True,
                          text=True, timeout=60)
    assert "LOADED []" in done.stdout, done.stdout + done.stderr[-3000:]
    assert "secret" not in done.stderr and "leoflow:***@127.0.0.1:1" in done.stderr  # the URL line, masked
