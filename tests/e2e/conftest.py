import shutil
from pathlib import Path

import pytest

from .lite_process import Lite

REPO_DAGS = Path(__file__).resolve().parents[2] / "dags"


@pytest.fixture
def dags_folder(tmp_path):
    folder = tmp_path / "dags"
    shutil.copytree(REPO_DAGS, folder, ignore=shutil.ignore_patterns("__pycache__"))
    return folder


@pytest.fixture
def lite(tmp_path, dags_folder):
    server = Lite(tmp_path / "home", dags_folder, env={"LEOFLOW_ZOMBIE_THRESHOLD": "5"})
    (tmp_path / "home").mkdir()
    server.start()
    yield server
    server.stop()
