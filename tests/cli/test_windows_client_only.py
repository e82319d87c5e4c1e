"""On Windows Leoflow is the client CLI only: the commands that run tasks say why, the others work."""

import pytest

from leoflow import __version__
from leoflow.cli.main import main
from leoflow.cli.platform_support import TASK_RUNNING_COMMANDS, refusal


@pytest.mark.parametrize("command", ["lite", "server"])
def test_task_running_commands_refuse_on_windows(command, tmp_path, capsys):
    assert main([command, "--home", str(tmp_path)], platform="win32") == 2
    err = capsys.readouterr().err
    assert f"leoflow {command}: not available on Windows" in err
    assert "Airflow 3's task SDK does not run tasks there" in err
    assert not any(tmp_path.iterdir())  # refused before touching anything


def test_agent_is_refused_too_and_nothing_else_is():
    assert TASK_RUNNING_COMMANDS == {"lite", "server", "agent"}
    assert "task SDK" in refusal("agent", "win32")
    for command in ("version", "dags", "tasks", "users", "db", "migrate", "healthcheck", None):
        assert refusal(command, "win32") is None


def test_client_commands_still_work_on_windows(capsys):
    assert main(["version"], platform="win32") == 0
    assert capsys.readouterr().out.split()[0] == __version__


@pytest.mark.parametrize("platform", ["linux", "darwin"])
def test_nothing_is_refused_where_tasks_run(platform):
    assert all(refusal(command, platform) is None for command in TASK_RUNNING_COMMANDS)
