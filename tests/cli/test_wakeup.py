"""A command run beside a running lite takes effect at once: it wakes lite's scheduler through the wake-up socket
in the home, not on the scheduler's next sweep (here made 60 s long, so only a wake-up can explain a prompt run)."""

import shutil
import time
from pathlib import Path

from tests.e2e.lite_process import Lite

from .conftest import Cli, _env

REPO_DAGS = Path(__file__).resolve().parents[2] / "dags"


def _wait_for_state(lite, path: str, wanted: str, timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        state = lite.api("GET", path).json().get("state")
        if state == wanted:
            return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(f"{path} did not become {wanted} within {timeout}s (state {state}): {lite.output()}")


def test_trigger_and_clear_beside_a_running_lite_take_effect_at_once(tmp_path):
    home, dags = tmp_path / "home", tmp_path / "dags"
    home.mkdir()
    shutil.copytree(REPO_DAGS, dags, ignore=shutil.ignore_patterns("__pycache__"))
    lite = Lite(home, dags, env={"LEOFLOW_SCHEDULER_POLL_INTERVAL": "60"})
    lite.start()
    try:
        assert (home / "wake.sock").exists()
        cli = Cli(home, _env(home, LEOFLOW_DAGS_FOLDER=str(dags)))
        cli.ok("dags", "unpause", "example_etl")
        cli.ok("dags", "trigger", "example_etl", "-r", "beside_lite")
        _wait_for_state(lite, "/api/v2/dags/example_etl/dagRuns/beside_lite", "success", timeout=20)

        cleared = cli.ok("tasks", "clear", "example_etl", "-t", "^load$", "--yes")
        assert cleared == "Cleared 1 task instance(s) of example_etl\n"
        _wait_for_state(lite, "/api/v2/dags/example_etl/dagRuns/beside_lite", "success", timeout=20)
        ti = lite.api("GET", "/api/v2/dags/example_etl/dagRuns/beside_lite/taskInstances/load").json()
        assert ti["try_number"] == 2 and ti["state"] == "success"
        assert cli.ok("jobs", "check", "--job-type", "SchedulerJob", "--local") == "Found one alive job.\n"
    finally:
        lite.stop()
    assert not (home / "wake.sock").exists()

