"""A `leoflow server` (TLS, a CA of the test's own) and agents, each agent on its own "host": a network
namespace joined to this one by a veth pair. The server listens on every address; an agent reaches it
at its link's gateway address, which the server's certificate names."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.server.cluster import PASSWORD, Replica, server_env, wait_for
from tests.server.conftest import migrate
from tests.services import postgres_database_url

SPREAD_DAG = '''
import time

from airflow.sdk import dag, task
from helpers.numbers import double  # a helper package beside the DAG file travels in the bundle


@dag(dag_id="spread", schedule=None, catchup=False)
def spread():
    @task
    def work(i):
        time.sleep(0.2)
        return double(i)

    @task(queue="qa")
    def join(values):
        print("joined", sum(values))
        return sum(values)

    parts = [work.override(task_id=f"a{i}", queue="qa")(i) for i in range(4)]
    parts += [work.override(task_id=f"b{i}", queue="qb")(i) for i in range(4)]
    join(parts)


spread()
'''

WIDE_DAGS = '''
from airflow.sdk import chain, dag, task


@dag(dag_id="fan100", schedule=None, catchup=False, max_active_tasks=100)
def fan100():
    @task(queue="shared")
    def leaf(i):
        return i

    leaf.expand(i=list(range(100)))


@dag(dag_id="chain20", schedule=None, catchup=False)
def chain20():
    @task
    def link(i):
        return i

    chain(*[link.override(task_id=f"link{i:02d}", queue="qa" if i % 2 == 0 else "qb")(i) for i in range(20)])


fan100()
chain20()
'''

MTLS_DAG = '''
from airflow.sdk import dag, task


@dag(dag_id="mtls", schedule=None, catchup=False)
def mtls():
    @task(queue="qm")
    def through_mutual_tls():
        return "ok"

    through_mutual_tls()


mtls()
'''

NOBODY_DAG = '''
from airflow.sdk import dag, task


@dag(dag_id="nobody", schedule=None, catchup=False)
def nobody():
    @task(queue="nobody-serves-this")
    def lonely():
        return 1

    lonely()


nobody()
'''

SLOW_DAG = '''
import datetime as dt
import time

from airflow.sdk import dag, task


@dag(dag_id="slow", schedule=None, catchup=False,
     default_args={"retries": 1, "retry_delay": dt.timedelta(seconds=1)})
def slow():
    @task(queue="shared")
    def nap():
        for i in range(8):
            print("napping", i, flush=True)
            time.sleep(1)

    nap()


slow()
'''


class TlsServer(Replica):
    """A replica serving HTTPS with a certificate of the test's CA."""

    def __init__(self, *args, ca, **kw):
        super().__init__(*args, **kw)
        self.ca = ca
        self.base = f"https://127.0.0.1:{self.port}"

    def ca_context(self):
        return _ca_context(self.ca)

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.output()}")
            try:
                if httpx.get(f"{self.base}/readyz", timeout=1, verify=_ca_context(self.ca)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} was not ready in {timeout}s:\n{self.output()}")

    def token(self) -> str:
        if self._token is None:
            r = httpx.post(f"{self.base}/auth/token", json={"username": "admin", "password": PASSWORD}, timeout=10,
                           verify=_ca_context(self.ca))
            assert r.status_code == 201, r.text
            self._token = r.json()["access_token"]
        return self._token

    def api(self, method: str, path: str, *, token: str | None = None, **kw) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token or self.token()}", **kw.pop("headers", {})}
        return httpx.request(method, f"{self.base}{path}", headers=headers, timeout=kw.pop("timeout", 15),
                             verify=_ca_context(self.ca), **kw)

    def agent_call(self, method: str, path: str, credential: str | None = None, **kw) -> httpx.Response:
        headers = {"Authorization": f"Bearer {credential}"} if credential else {}
        return httpx.request(method, f"{self.base}/agent/v1{path}", headers=headers, timeout=40,
                             verify=_ca_context(self.ca), **kw)


class AgentProcess:
    def __init__(self, cluster, name: str, host, *, queues: str, concurrency: int = 4):
        self.cluster, self.name, self.host = cluster, name, host
        self.home = cluster.root / f"agent-{name}"
        self.log_path = cluster.root / f"agent-{name}.log"
        self.queues, self.concurrency = queues, concurrency
        self.proc: subprocess.Popen | None = None
        self.env: dict | None = None  # the agent's environment when not the cluster's
        self.removed = False  # revoked by a test: not started again

    @property
    def server_url(self) -> str:
        return f"https://{self.host.gateway}:{self.cluster.server.port}"

    def command(self, *extra: str, token: str | None = None, server: str | None = None) -> list[str]:
        cmd = [sys.executable, "-m", "leoflow", "agent", "--server", server or self.server_url,
               "--home", str(self.home), "--ca-file", str(self.cluster.ca.pem),
               "--concurrency", str(self.concurrency), *extra]
        if token:
            cmd += ["--token", token]
        return ["ip", "netns", "exec", self.host.name, *cmd]

    def start(self, token: str | None = None) -> "AgentProcess":
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.command(token=token), stdout=log, stderr=subprocess.STDOUT,
                                     env=self.env or self.cluster.agent_env, start_new_session=True)
        return self

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-8000:]
        except FileNotFoundError:
            return ""

    def log_size(self) -> int:
        """Where the log ends now: with output_since, what this agent wrote after a step (the log is
        appended across restarts, so a line from an earlier life must not count)."""
        try:
            return self.log_path.stat().st_size
        except FileNotFoundError:
            return 0

    def output_since(self, offset: int) -> str:
        try:
            with open(self.log_path, "rb") as f:
                f.seek(offset)
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self, timeout: float = 30.0) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
            return None


def enroll(cluster, name: str, queues: str = "", expires: str = "1h") -> str:
    proc = subprocess.run([sys.executable, "-m", "leoflow", "agents", "enroll", name, "--queues", queues,
                           "--expires", expires, "--home", str(cluster.root / "cli-home")],
                          env=cluster.env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()[0].strip()


class Cluster:
    def __init__(self, root: Path, database_url: str):
        from tests.netns import Host
        from tests.pki import CA

        self.root = root
        self.dags = root / "dags"
        (self.dags / "helpers").mkdir(parents=True)
        (self.dags / "helpers" / "__init__.py").write_text("")
        (self.dags / "helpers" / "numbers.py").write_text("def double(i):\n    return 2 * i\n")
        (self.dags / "spread.py").write_text(SPREAD_DAG)
        (self.dags / "slow.py").write_text(SLOW_DAG)
        (self.dags / "nobody.py").write_text(NOBODY_DAG)
        (self.dags / "wide.py").write_text(WIDE_DAGS)
        (self.dags / "mtls.py").write_text(MTLS_DAG)
        self.hosts = [Host(), Host()]
        self.ca = CA(root, "test-ca")
        cert, key = self.ca.issue("leoflow-server", server=True, addresses=tuple(h.gateway for h in self.hosts))
        self.env = server_env(database_url, LEOFLOW_EXECUTOR="agent")
        self.agent_env = {k: v for k, v in os.environ.items() if not k.startswith("LEOFLOW_")}
        migrate(self.env, root / "migrate-home")
        self.server = TlsServer("server", root, self.dags, self.env, ca=self.ca, host="0.0.0.0",
                                args=("--tls-cert", str(cert), "--tls-key", str(key)))
        self.engine = create_engine(database_url)
        self.agents: list[AgentProcess] = []

    def sql(self, query: str, **params):
        with self.engine.connect() as conn:
            return conn.execute(text(query), params).all()

    def add_agent(self, name: str, host, queues: str, concurrency: int = 4, env: dict | None = None) -> AgentProcess:
        agent = AgentProcess(self, name, host, queues=queues, concurrency=concurrency)
        agent.env = env
        self.agents.append(agent)
        return agent.start(enroll(self, name, queues))

    def wait_agents_heard(self, names, timeout: float = 60.0) -> None:
        def heard():
            rows = self.sql("SELECT name FROM agent WHERE state = 'active' AND last_heartbeat > now() - interval '5 s'")
            return set(names) <= {r.name for r in rows}

        try:
            wait_for(heard, timeout, f"agents {names} heart-beating")
        except AssertionError:
            raise AssertionError("\n".join(a.output() for a in self.agents) + self.server.output())

    def trigger(self, dag_id: str) -> str:
        wait_for(lambda: self.server.api("GET", f"/api/v2/dags/{dag_id}").status_code == 200, 60, f"{dag_id} parsed")
        r = self.server.api("POST", f"/api/v2/dags/{dag_id}/dagRuns", json={"logical_date": None})
        assert r.status_code == 200, r.text
        return r.json()["dag_run_id"]

    def wait_run(self, dag_id: str, run_id: str, timeout: float = 90.0) -> str:
        def finished():
            rows = self.sql("SELECT state FROM dag_run WHERE dag_id = :d AND run_id = :r", d=dag_id, r=run_id)
            return rows and rows[0].state in ("success", "failed") and rows[0].state

        try:
            return wait_for(finished, timeout, f"run {run_id} finished", interval=0.3)
        except AssertionError:
            raise AssertionError("\n---\n".join([a.output() for a in self.agents] + [self.server.output()]))

    def close(self) -> None:
        for agent in self.agents:
            agent.stop()
        self.server.stop()
        self.engine.dispose()
        for host in self.hosts:
            host.close()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with postgres_database_url() as url:
        c = Cluster(tmp_path_factory.mktemp("agents"), url)
        try:
            c.server.start()
            yield c
        finally:
            c.close()


def _ca_context(ca):
    import ssl

    return ssl.create_default_context(cafile=str(ca.pem))
