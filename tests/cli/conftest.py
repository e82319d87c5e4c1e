"""The CLI suite: `leoflow ...` run as a person runs it (a subprocess, its own home), on lite's SQLite and on a
server's Postgres (a database of the test's own), state checked afterwards in the store the REST API reads."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.services import postgres_database_url


class Cli:
    def __init__(self, home: Path, env: dict):
        self.home = home
        self.env = env
        self._engine = None

    def run(self, *args, stdin: str | None = None, timeout: float = 60, env: dict | None = None):
        return subprocess.run([sys.executable, "-m", "leoflow", *args], capture_output=True, text=True,
                              env={**self.env, **(env or {})}, timeout=timeout, input=stdin,
                              stdin=None if stdin is not None else subprocess.DEVNULL)

    def ok(self, *args, **kw) -> str:
        proc = self.run(*args, **kw)
        assert proc.returncode == 0, f"leoflow {' '.join(args)} exited {proc.returncode}: {proc.stderr}"
        return proc.stdout

    def json(self, *args):
        return json.loads(self.ok(*args, "-o", "json"))

    @property
    def database_url(self) -> str:
        return self.env.get("LEOFLOW_DATABASE_URL") or f"sqlite:///{self.home / 'leoflow.db'}"

    @property
    def shown_url(self) -> str:
        from sqlalchemy.engine import make_url

        return make_url(self.database_url).render_as_string(hide_password=True)

    @property
    def engine(self):
        if self._engine is None:
            from leoflow.store.engine import make_engine

            self._engine = make_engine(self.database_url)
        return self._engine

    @property
    def crypt(self):
        from leoflow.secrets.fernet import Crypt

        key = self.env.get("LEOFLOW_FERNET_KEY") or (self.home / "fernet.key").read_text()
        return Crypt([key])

    def close(self):
        if self._engine is not None:
            self._engine.dispose()


def _lite_home(home: Path) -> Path:
    """A home that has been used before: its Fernet key exists (the first command would announce making it)."""
    home.mkdir(mode=0o700)
    key = home / "fernet.key"
    key.write_text(base64.urlsafe_b64encode(os.urandom(32)).decode() + "\n")
    key.chmod(0o600)
    return home


def _env(home: Path, **extra) -> dict:
    return {"PATH": "/usr/bin:/bin", "LEOFLOW_HOME": str(home), "LEOFLOW_CONFIG": str(home / "none.toml"),
            "PYTHONDONTWRITEBYTECODE": "1", **extra}


@pytest.fixture(params=["sqlite", "postgres"])
def cli(request, tmp_path):
    """A home on SQLite (lite) or on its own Postgres database with a configured key (a server)."""
    home = tmp_path / "home"
    if request.param == "sqlite":
        c = Cli(_lite_home(home), _env(home))
        yield c
        c.close()
        return
    with postgres_database_url() as url:
        key = base64.urlsafe_b64encode(os.urandom(32)).decode()
        c = Cli(home, _env(home, LEOFLOW_DATABASE_URL=url, LEOFLOW_FERNET_KEY=key))
        yield c
        c.close()


@pytest.fixture
def lite_cli(tmp_path):
    home = _lite_home(tmp_path / "home")
    c = Cli(home, _env(home))
    yield c
    c.close()
