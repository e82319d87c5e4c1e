"""`leoflow agent` from the image (podman, host network) against a `leoflow server` on Postgres: it enrolls
with its token, heart-beats, claims a try, fetches the DAG bundle and runs the task as the image's
non-root user. Runs only with LEOFLOW_TEST_IMAGE (CI builds the image; `make binary image` here)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import create_engine, text

from tests.server.cluster import Replica, server_env, wait_for
from tests.server.conftest import migrate
from tests.services import postgres_database_url

from .podman import Container, require_image

pytestmark = [pytest.mark.postgres, pytest.mark.server]

DAG = '''
import getpass

from airflow.sdk import dag, task


@dag(dag_id="in_the_image", schedule=None, catchup=False)
def in_the_image():
    @task(queue="image")
    def who():
        print("running as", getpass.getuser(), flush=True)
        return 21 * 2

    who()


in_the_image()
'''


@pytest.mark.timeout(300)
def test_agent_from_the_image_enrolls_and_runs_a_try(tmp_path):
    image = require_image()
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "in_the_image.py").write_text(DAG)
    with postgres_database_url() as url:
        env = server_env(url, LEOFLOW_EXECUTOR="agent")
        migrate(env, tmp_path / "migrate-home")
        server = Replica("server", tmp_path, dags, env).start()
        engine = create_engine(url)
        try:
            enrolled = subprocess.run([sys.executable, "-m", "leoflow", "agents", "enroll", "img-agent", "--queues",
                                       "image", "--expires", "1h", "--home", str(tmp_path / "cli-home")],
                                      env=env, capture_output=True, text=True, timeout=60)
            assert enrolled.returncode == 0, enrolled.stderr
            token = enrolled.stdout.splitlines()[0].strip()
            # host network: the agent reaches the server on loopback (plain HTTP, hence --insecure)
            with Container(image, "agent", "--server", server.base, "--insecure", "--token", token,
                           "--name", "img-agent", "--home", "/var/lib/leoflow/agent",
                           options=("--network", "host", "--no-healthcheck")) as agent:
                def heard():
                    with engine.connect() as conn:
                        return conn.execute(text(
                            "SELECT name FROM agent WHERE state = 'active' "
                            "AND last_heartbeat > now() - interval '10 s'")).scalars().all() == ["img-agent"]

                try:
                    wait_for(heard, 90, "the image's agent heart-beating")
                except AssertionError:
                    raise AssertionError(agent.logs()[-4000:] + server.output())
                wait_for(lambda: server.api("GET", "/api/v2/dags/in_the_image").status_code == 200, 60, "parsed")
                assert server.api("PATCH", "/api/v2/dags/in_the_image", json={"is_paused": False}).status_code == 200
                r = server.api("POST", "/api/v2/dags/in_the_image/dagRuns", json={"logical_date": None})
                assert r.status_code == 200, r.text
                run_id = r.json()["dag_run_id"]

                def finished():
                    with engine.connect() as conn:
                        state = conn.execute(text("SELECT state FROM dag_run WHERE run_id = :r"), {"r": run_id}).scalar()
                    return state if state in ("success", "failed") else None

                try:
                    state = wait_for(finished, 120, "the run finished", interval=0.5)
                except AssertionError:
                    raise AssertionError(agent.logs()[-4000:] + server.output())
                assert state == "success", agent.logs()[-4000:]
                with engine.connect() as conn:
                    value = conn.execute(text("SELECT value FROM xcom WHERE run_id = :r AND task_id = 'who'"),
                                         {"r": run_id}).scalar()
                    ran_on = conn.execute(text("SELECT agent_name FROM agent_job WHERE ti_id IN (SELECT id FROM "
                                               "task_instance WHERE run_id = :r)"), {"r": run_id}).scalars().all()
                assert str(value).strip('"') == "42" and ran_on == ["img-agent"]
                log = server.api("GET", f"/api/v2/dags/in_the_image/dagRuns/{run_id}/taskInstances/who/logs/1")
                assert "running as" in log.text and "root" not in log.text.split("running as", 1)[1][:40], log.text
        finally:
            server.stop()
            engine.dispose()
