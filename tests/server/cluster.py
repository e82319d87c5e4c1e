"""Real `leoflow server` replicas for a test: separate processes on one Postgres database (the test's own)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.e2e.lite_process import free_port

PASSWORD = "server-e2e-password"
FERNET_KEY = "kqgO6F1tZ5UeyVZQ5U1qg5mZK8d1ZOVZ6iL8cQ2JZ2o="
SECRET_KEY = "the-same-secret-on-every-replica"


def server_env(database_url: str, **extra) -> dict:
    env = {**os.environ, "LEOFLOW_DATABASE_URL": database_url, "LEOFLOW_FERNET_KEY": FERNET_KEY,
           "LEOFLOW_SECRET_KEY": SECRET_KEY, "LEOFLOW_ADMIN_PASSWORD": PASSWORD,
           "LEOFLOW_CONFIG": "/nonexistent/leoflow.toml", "LEOFLOW_ZOMBIE_THRESHOLD": "10",
           "LEOFLOW_SCHEMA_WAIT_TIMEOUT": "30"}
    env.pop("LEOFLOW_REDIS_URL", None)
    env.update({k: str(v) for k, v in extra.items()})
    return env


class Replica:
    def __init__(self, name: str, root: Path, dags: Path, env: dict, *, args: tuple = (), netns: str | None = None,
                 host: str = "127.0.0.1"):
        self.name, self.root, self.dags = name, root, dags
        self.home = root / name
        self.home.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.host = host
        self.env, self.args, self.netns = {**env, "LEOFLOW_HOSTNAME": name}, args, netns
        binary = os.environ.get("LEOFLOW_TEST_BINARY")
        self.command = [os.path.abspath(binary)] if binary else [sys.executable, "-m", "leoflow"]
        self.proc: subprocess.Popen | None = None
        self.base = f"http://{host}:{self.port}"
        self.verify = True  # what httpx checks an HTTPS replica's certificate with (an ssl context)
        self._token = None

    @property
    def log_path(self) -> Path:
        return self.root / f"{self.name}.log"

    def start(self, *, wait: bool = True, timeout: float = 60.0) -> "Replica":
        log = open(self.log_path, "ab")
        command = [*self.command, "server", "--home", str(self.home), "--dags-folder", str(self.dags),
                   "--host", self.host, "--port", str(self.port), *self.args]
        if self.netns:
            command = ["ip", "netns", "exec", self.netns, *command]
        self.proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=self.env)
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.output()}")
            try:
                if httpx.get(f"{self.base}/readyz", timeout=1, verify=self.verify).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} was not ready in {timeout}s:\n{self.output()}")

    def output(self, tail: int = 6000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-tail:]
        except FileNotFoundError:
            return ""

    def signal(self, sig) -> None:
        self.proc.send_signal(sig)

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self, timeout: float = 40.0) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGCONT)  # a frozen one must be able to hear the TERM
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            return None

    def token(self) -> str:
        if self._token is None:
            r = httpx.post(f"{self.base}/auth/token", json={"username": "admin", "password": PASSWORD}, timeout=10,
                           verify=self.verify)
            assert r.status_code == 201, r.text
            self._token = r.json()["access_token"]
        return self._token

    def api(self, method: str, path: str, *, token: str | None = None, **kw) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token or self.token()}", **kw.pop("headers", {})}
        return httpx.request(method, f"{self.base}{path}", headers=headers, timeout=kw.pop("timeout", 15),
                             verify=self.verify, **kw)


def wait_for(predicate, timeout: float, message: str = "condition", interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"{message} not met in {timeout}s")


def leader(engine, replicas: list[Replica]) -> Replica | None:
    """The replica whose scheduler holds the lease now (replicas are told apart by LEOFLOW_HOSTNAME)."""
    from sqlalchemy import text

    with engine.connect() as conn:
        host = conn.execute(text("SELECT holder_hostname FROM scheduler_lease WHERE name = 'scheduler' "
                                 "AND expires_at > now()")).scalar()
    return next((r for r in replicas if r.name == host), None)
