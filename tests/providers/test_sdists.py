"""What the single executable builds from source: the requirements pip names as having no wheel.

The build itself runs in test_from_executable.py (mysqlclient for the MySQL provider); here the reading
of pip's own error text, from real pip runs on wheels of the test's own (`--no-index`, no network)."""

from __future__ import annotations

import subprocess
import sys

from leoflow.providers.sdists import missing_wheels

from .libs import wheel


def _pip_dry_run(links, *requests: str) -> str:
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--dry-run",
                           "--no-index", "--find-links", str(links), "--only-binary", ":all:", *requests],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0, done.stdout
    return done.stdout + done.stderr


def test_a_requirement_asked_for_directly(tmp_path):
    wheel(tmp_path, "leoflow-unrelated")
    found = missing_wheels(_pip_dry_run(tmp_path, "leoflow-src-only>=1.5"))
    assert [str(r) for r in found] == ["leoflow-src-only>=1.5"]


def test_after_backtracking_the_newest_releases_requirement_comes_first(tmp_path):
    # as the MySQL provider: its new releases need mysqlclient, its 1.x and 2.x mysql-connector-python
    wheel(tmp_path, "leoflow-needs-src", "2.0", requires=("leoflow-src-only>=1.5",))
    wheel(tmp_path, "leoflow-needs-src", "1.0", requires=("leoflow-old-src-only>=3",))
    wheel(tmp_path, "leoflow-needs-src", "1.1", requires=("leoflow-old-src-only>=3",))
    found = missing_wheels(_pip_dry_run(tmp_path, "leoflow-needs-src"))
    assert [str(r) for r in found] == ["leoflow-src-only>=1.5", "leoflow-old-src-only>=3"]


def test_never_one_of_leoflows_own_libraries(tmp_path):
    # a library asking for another version of a pinned one (sqlalchemy<2): pip finds no wheel of that
    # version, and that is a conflict to report, never a build
    wheel(tmp_path, "leoflow-a", requires=("leoflow-b<1",))
    wheel(tmp_path, "leoflow-b", "1.0")
    text = _pip_dry_run(tmp_path, "leoflow-a", "leoflow-b==1.0")
    assert [str(r) for r in missing_wheels(text)] == ["leoflow-b<1"]
    assert missing_wheels(text, own={"leoflow-b"}) == []
    assert missing_wheels(_pip_dry_run(tmp_path, "apache-airflow-core>=3")) == []  # Leoflow is that Airflow
