"""`leoflow version --json`: the version, the commit, the build date, the Airflow version spoken and
the Python inside (from source: the commit of this checkout, no build date)."""

import json
import platform
import subprocess
from pathlib import Path

from leoflow import AIRFLOW_COMPAT_VERSION, __version__
from leoflow.cli.main import main

ROOT = Path(__file__).resolve().parents[2]


def test_version_json_from_source(capsys):
    assert main(["version", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    assert info == {"version": __version__, "commit": head or None, "build_date": None,
                    "airflow_compat_version": AIRFLOW_COMPAT_VERSION, "python": platform.python_version(),
                    "frozen": False}
    assert info["airflow_compat_version"] == "3.2.1"


def test_plain_version_is_one_line_with_the_commit(capsys):
    assert main(["version"]) == 0
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    expected = f"{__version__} (commit {head[:12]}, from source)" if head else __version__
    assert capsys.readouterr().out == f"{expected}\n"
