"""Several `leoflow server` replicas on a fresh Postgres database of the test's own."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.server.cluster import Replica, server_env
from tests.services import postgres_database_url

WIDE_DAG = '''
import datetime as dt
import time

from airflow.sdk import dag, task


@dag(dag_id="wide20", schedule=None, catchup=False,
     default_args={"retries": 1, "retry_delay": dt.timedelta(seconds=1)})
def wide20():
    @task
    def step(i, upstream=None):
        time.sleep(float(__import__("os").environ.get("WIDE20_SLEEP", "0.05")))
        return i

    for chain in range(4):  # four chains of five: 20 tasks
        previous = None
        for link in range(5):
            i = chain * 5 + link
            previous = step.override(task_id=f"t{i:02d}")(i, previous)


wide20()
'''


@pytest.fixture
def database_url_of_own():
    with postgres_database_url() as url:
        yield url


@pytest.fixture
def dags(tmp_path):
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "wide20.py").write_text(WIDE_DAG)
    return folder


def migrate(env, home) -> None:
    proc = subprocess.run([sys.executable, "-m", "leoflow", "migrate", "--home", str(home)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


@pytest.fixture
def make_cluster(tmp_path, dags, database_url_of_own):
    """make_cluster(n, **env) -> n started replicas (migrated first); all stopped afterwards."""
    started: list[Replica] = []

    def make(n: int = 3, *, redis_url: str | None = None, start: bool = True, **extra_env):
        env = server_env(database_url_of_own, **extra_env)
        if redis_url:
            env["LEOFLOW_REDIS_URL"] = redis_url
        migrate(env, tmp_path / "migrate-home")
        replicas = [Replica(f"replica-{chr(97 + i)}", tmp_path, dags, env) for i in range(n)]
        started.extend(replicas)
        if start:
            for r in replicas:
                r.start(wait=False)
            for r in replicas:
                r.wait_ready()
        return replicas

    make.database_url = database_url_of_own
    yield make
    for r in started:
        r.stop()
