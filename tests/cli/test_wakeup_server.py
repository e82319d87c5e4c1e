"""A command run beside a `leoflow server` on Postgres takes effect at once: it wakes the server's scheduler
through Postgres LISTEN/NOTIFY (no Redis), not on its next sweep (made 60 s long here, so only a wake-up explains
a prompt run). The command runs on another home, as from another machine: only the database is shared."""

import shutil
import time
from pathlib import Path

import pytest

from tests.server.cluster import FERNET_KEY, Replica, server_env
from tests.server.conftest import migrate

from .conftest import Cli, _env

pytestmark = [pytest.mark.postgres, pytest.mark.server]

REPO_DAGS = Path(__file__).resolve().parents[2] / "dags"


def _wait_for_state(replica, path: str, wanted: str, timeout: float) -> None:
    started = time.monotonic()
    state = None
    while time.monotonic() - started < timeout:
        state = replica.api("GET", path).json().get("state")
        if state == wanted:
            return
        time.sleep(0.2)
    raise AssertionError(f"{path} did not become {wanted} within {timeout}s (state {state}): {replica.output()}")


@pytest.mark.timeout(400)
def test_trigger_beside_a_server_on_postgres_takes_effect_at_once(tmp_path):
    from tests.services import postgres_database_url

    dags = tmp_path / "dags"
    shutil.copytree(REPO_DAGS, dags, ignore=shutil.ignore_patterns("__pycache__"))
    with postgres_database_url() as url:
        env = server_env(url, LEOFLOW_SCHEDULER_POLL_INTERVAL="60")
        migrate(env, tmp_path / "migrate-home")
        server = Replica("server", tmp_path, dags, env).start()
        try:
            server.wait_ready()
            deadline = time.monotonic() + 60
            while server.api("GET", "/api/v2/dags/example_etl").status_code != 200:
                assert time.monotonic() < deadline, server.output()
                time.sleep(0.2)
            home = tmp_path / "cli-home"
            cli = Cli(home, _env(home, LEOFLOW_DATABASE_URL=url, LEOFLOW_FERNET_KEY=FERNET_KEY,
                                 LEOFLOW_DAGS_FOLDER=str(dags)))
            cli.ok("dags", "unpause", "example_etl")
            cli.ok("dags", "trigger", "example_etl", "-r", "beside_server")
            _wait_for_state(server, "/api/v2/dags/example_etl/dagRuns/beside_server", "success", timeout=25)
            cleared = cli.ok("tasks", "clear", "example_etl", "-t", "^load$", "--yes")
            assert cleared == "Cleared 1 task instance(s) of example_etl\n"
            _wait_for_state(server, "/api/v2/dags/example_etl/dagRuns/beside_server/taskInstances/load", "success",
                            timeout=25)
            ti = server.api("GET", "/api/v2/dags/example_etl/dagRuns/beside_server/taskInstances/load").json()
            assert ti["try_number"] == 2
            cli.close()
        finally:
            server.stop()
