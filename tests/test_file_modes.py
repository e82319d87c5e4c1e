"""What Leoflow writes in its home is readable by its own user only: the SQLite file and its -wal/-shm
companions 0600, the logs folder and every folder under it 0700, log files 0600, a home it makes 0700
(as the key files already were 0600), whatever the umask."""

import os
import stat
import subprocess
import sys

import pytest
from sqlalchemy import text

from leoflow import config
from leoflow.runner.logfile import log_relative_path
from leoflow.services import open_services


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def loose_umask():
    old = os.umask(0o022)  # the usual default: files 0644, folders 0755
    yield
    os.umask(old)


def test_a_new_home_its_database_and_logs_are_private(tmp_path, loose_umask):
    home = tmp_path / "home"
    services = open_services(config.load(home=home, dags_folder=tmp_path / "dags",
                                         database_url=f"sqlite:///{home / 'leoflow.db'}"))
    with services.engine.begin() as conn:  # a write: the -wal and -shm files exist while connected
        conn.execute(text("CREATE TABLE probe (x INTEGER)"))
    assert mode(home) == 0o700
    assert mode(home / "leoflow.db") == 0o600
    assert mode(home / "leoflow.db-wal") == 0o600 and mode(home / "leoflow.db-shm") == 0o600
    assert mode(home / "logs") == 0o700
    assert mode(home / "fernet.key") == 0o600
    services.engine.dispose()


def test_files_an_older_version_left_open_are_tightened(tmp_path, loose_umask):
    home = tmp_path / "home"
    (home / "logs").mkdir(parents=True)
    os.chmod(home / "logs", 0o755)
    db = home / "leoflow.db"
    db.touch()
    os.chmod(db, 0o644)
    services = open_services(config.load(home=home, dags_folder=tmp_path / "dags", database_url=f"sqlite:///{db}"))
    assert mode(db) == 0o600 and mode(home / "logs") == 0o700
    services.engine.dispose()


SCRIPT = r'''
import os, sys
from pathlib import Path
from leoflow.runner.logfile import TaskLog
os.umask(0o022)
with TaskLog(Path(sys.argv[1]), Path(sys.argv[2])):
    print("hello")
'''


def test_a_task_log_and_its_folders_are_private(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir(mode=0o700)
    path = logs / log_relative_path("d", "manual__2026-01-01T00:00:00+00:00", "t", 3, 1)
    subprocess.run([sys.executable, "-c", SCRIPT, str(path), str(logs)], check=True, timeout=60)
    assert "hello" in path.read_text()
    assert mode(path) == 0o600
    folder = path.parent
    while folder != logs:
        assert mode(folder) == 0o700, folder
        folder = folder.parent
