"""Start a real `leoflow lite` process for a test, and talk to it as a user would."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

PASSWORD = "e2e-password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lite:
    def __init__(self, home: Path, dags: Path, *, command: list[str] | None = None, env: dict | None = None):
        self.home, self.dags = home, dags
        self.port = free_port()
        # LEOFLOW_TEST_BINARY=dist/leoflow runs the same tests against the single executable.
        binary = os.environ.get("LEOFLOW_TEST_BINARY")
        self.command = command or ([os.path.abspath(binary)] if binary else [sys.executable, "-m", "leoflow"])
        # A test that stops lite while a task runs waits for the shutdown grace period: keep it short.
        self.env = {**os.environ, "LEOFLOW_ADMIN_PASSWORD": PASSWORD, "LEOFLOW_CONFIG": str(home / "none.toml"),
                    "LEOFLOW_SHUTDOWN_GRACE_PERIOD": "3", **(env or {})}
        self.proc: subprocess.Popen | None = None
        self.base = f"http://127.0.0.1:{self.port}"
        self._token = None

    def start(self, timeout: float = 30.0) -> "Lite":
        self.log = open(self.home.parent / f"lite-{self.port}.log", "ab")
        self.proc = subprocess.Popen(
            [*self.command, "lite", "--home", str(self.home), "--dags-folder", str(self.dags),
             "--port", str(self.port)], stdout=self.log, stderr=subprocess.STDOUT, env=self.env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"leoflow lite exited with {self.proc.returncode}: {self.output()}")
            try:
                if httpx.get(f"{self.base}/api/v2/monitor/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"leoflow lite did not answer in {timeout}s: {self.output()}")

    def output(self) -> str:
        return (self.home.parent / f"lite-{self.port}.log").read_text(errors="replace")[-4000:]

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def token(self) -> str:
        if self._token is None:
            r = httpx.post(f"{self.base}/auth/token", json={"username": "admin", "password": PASSWORD})
            assert r.status_code == 201, r.text
            self._token = r.json()["access_token"]
        return self._token

    def api(self, method: str, path: str, **kw) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token()}", **kw.pop("headers", {})}
        return httpx.request(method, f"{self.base}{path}", headers=headers, timeout=10, **kw)

    def wait_for(self, predicate, timeout: float = 30.0, interval: float = 0.05):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(interval)
        raise AssertionError(f"condition not met in {timeout}s; lite log:\n{self.output()}")

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 30.0) -> dict:
        def finished():
            body = self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}").json()
            return body if body.get("state") in ("success", "failed") else None

        return self.wait_for(finished, timeout)

    def wait_for_dag(self, dag_id: str, timeout: float = 30.0) -> None:
        """The DAG processor parses in the background: a DAG appears shortly after start."""
        self.wait_for(lambda: self.api("GET", f"/api/v2/dags/{dag_id}").status_code == 200, timeout)

    def trigger(self, dag_id: str, **body) -> dict:
        self.wait_for_dag(dag_id)
        r = self.api("POST", f"/api/v2/dags/{dag_id}/dagRuns", json={"logical_date": None, **body})
        assert r.status_code == 200, r.text
        return r.json()
