"""Start a `leoflow lite` process and drive it over HTTP, the way a user's browser or script would."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from datetime import datetime
from pathlib import Path

import httpx

PASSWORD = "bench-password"
POLL = 0.05  # seconds between polls of a run's state


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def all_healthy(body: dict) -> bool:
    """Every component the health body reports on is healthy (a component never started reports None)."""
    return all(part.get("status") in ("healthy", None) for part in body.values()) and \
        body.get("scheduler", {}).get("status") == "healthy"


class Lite:
    def __init__(self, command: list[str], home: Path, dags: Path, *, env: dict | None = None):
        self.command, self.home, self.dags = command, home, dags
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "LEOFLOW_ADMIN_PASSWORD": PASSWORD,
                    "LEOFLOW_CONFIG": str(home.parent / "no-config.toml"), **(env or {})}
        self.proc: subprocess.Popen | None = None
        self.http = httpx.Client(base_url=self.base, timeout=30)
        self._token: str | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid

    def start(self, timeout: float = 60.0) -> float:
        """Start the process; return seconds until /api/v2/monitor/health answers with all parts healthy."""
        self.log_path = self.home.parent / f"lite-{self.port}.log"
        log = open(self.log_path, "ab")
        # One client for every probe, made before the clock starts: httpx.get() builds an SSL context
        # each call (~20 ms of CPU), which delayed each probe and took CPU from the process measured.
        probe = httpx.Client(timeout=2, limits=httpx.Limits(max_keepalive_connections=0))
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            [*self.command, "lite", "--home", str(self.home), "--dags-folder", str(self.dags),
             "--port", str(self.port)], stdout=log, stderr=subprocess.STDOUT, env=self.env)
        log.close()
        deadline = t0 + timeout
        # A fresh connection per probe (no keep-alive): a refused connect fails at once.
        with probe:
            while time.perf_counter() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"leoflow lite exited with {self.proc.returncode}:\n{self.output()}")
                try:
                    r = probe.get(f"{self.base}/api/v2/monitor/health")
                    if r.status_code == 200 and all_healthy(r.json()):
                        return time.perf_counter() - t0
                except httpx.HTTPError:
                    pass
                time.sleep(0.005)
        raise RuntimeError(f"leoflow lite was not healthy in {timeout}s:\n{self.output()}")

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self) -> None:
        self.http.close()
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    # --- REST API -------------------------------------------------------------------

    def token(self) -> str:
        if self._token is None:
            r = self.http.post("/auth/token", json={"username": "admin", "password": PASSWORD})
            r.raise_for_status()
            self._token = r.json()["access_token"]
        return self._token

    def api(self, method: str, path: str, **kw) -> httpx.Response:
        return self.http.request(method, path, headers={"Authorization": f"Bearer {self.token()}"}, **kw)

    def wait_until(self, predicate, timeout: float, interval: float = 0.01, what: str = "condition"):
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(interval)
        raise TimeoutError(f"{what} not met in {timeout}s; lite log:\n{self.output()}")

    def dag_visible(self, dag_id: str) -> bool:
        return self.api("GET", f"/api/v2/dags/{dag_id}").status_code == 200

    def wait_for_dags(self, dag_ids, timeout: float = 120.0) -> None:
        for dag_id in dag_ids:
            self.wait_until(lambda: self.dag_visible(dag_id), timeout, 0.05, f"DAG {dag_id} visible")
        for dag_id in dag_ids:  # DAGs may be created paused by configuration: runs must start
            self.api("PATCH", f"/api/v2/dags/{dag_id}", json={"is_paused": False})

    def trigger(self, dag_id: str) -> str:
        r = self.api("POST", f"/api/v2/dags/{dag_id}/dagRuns", json={"logical_date": None})
        if r.status_code != 200:
            raise RuntimeError(f"trigger {dag_id}: {r.status_code} {r.text}")
        return r.json()["dag_run_id"]

    def run_body(self, dag_id: str, run_id: str) -> dict:
        return self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}").json()

    def run_state(self, dag_id: str, run_id: str) -> str:
        return self.run_body(dag_id, run_id).get("state")

    def wait_runs(self, dag_id: str, run_ids: list[str], started: float, timeout: float = 120.0) -> float:
        """Seconds from `started` (time.time() before the first POST) until the last run's end_date.

        The server's own end_date, not the poll that noticed it: polling every 10 ms would load the
        2 cores being measured, and a 50 ms poll would round every figure up by up to 50 ms.
        """
        ends = []
        for run_id in run_ids:
            body = self.wait_until(
                lambda: (b := self.run_body(dag_id, run_id)).get("state") in ("success", "failed") and b,
                timeout, POLL, f"run {run_id} of {dag_id} finished")
            if body["state"] != "success":
                raise RuntimeError(f"run {run_id} of {dag_id} ended {body['state']}")
            ends.append(datetime.fromisoformat(body["end_date"].replace("Z", "+00:00")).timestamp())
        return max(ends) - started

    def run_to_end(self, dag_id: str, timeout: float = 120.0) -> float:
        """Trigger a run: seconds from the POST until the run's end_date (state success)."""
        started = time.time()
        return self.wait_runs(dag_id, [self.trigger(dag_id)], started, timeout)
