"""Airflow 3.2.1's bundled example DAGs (fetched from the wheel, cached) and the score they reach.

The example folder imports its own helpers as `airflow.example_dags.*` and
two of its DAGs need the example plugins: Leoflow serves that package from the
fetched folder and loads `plugins/` as the plugins folder, which is what an
Airflow user does with `plugins_folder`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.reference import REFERENCE_EXAMPLES, example_dags

SCORES: dict[str, list[int]] = {}  # name -> [passed, total]
SKIPPED: dict[str, list[str]] = {}  # name -> "dag_id (reason)"


def record(name: str, passed: bool) -> None:
    score = SCORES.setdefault(name, [0, 0])
    score[0] += int(passed)
    score[1] += 1


def record_skip(name: str, what: str) -> None:
    SCORES.setdefault(name, [0, 0])[1] += 1
    SKIPPED.setdefault(name, []).append(what)


@pytest.fixture(scope="session")
def example_folder() -> Path:
    folder = example_dags()
    from leoflow.sdk import importhook, plugins

    importhook.install()
    importhook.serve_folder("airflow.example_dags", str(folder))
    plugins.load(folder / "plugins")
    return folder


@pytest.fixture(scope="session")
def reference_graphs() -> dict:
    return json.loads((REFERENCE_EXAMPLES / "graphs.json").read_text())


def example_files(folder: Path) -> list[Path]:
    files = sorted(folder.glob("*.py")) + sorted((folder / "standard").glob("*.py"))
    return [f for f in files if f.name != "__init__.py"]


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not SCORES:
        return
    parts = []
    for name, (passed, total) in SCORES.items():
        skipped = SKIPPED.get(name)
        parts.append(f"{name} {passed}/{total}" + (f" (not run: {'; '.join(skipped)})" if skipped else ""))
    terminalreporter.write_line("example DAGs: " + ", ".join(parts))
