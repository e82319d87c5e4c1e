"""A real `leoflow lite` with the repo's bundled DAGs and a Chromium to drive it (never downloaded)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.e2e.lite_process import Lite
from tests.reference import ROOT
from tests.web.conftest import fetch_ui_assets


def fetch_swagger_ui() -> None:
    import sys

    sys.path.insert(0, str(ROOT / "build"))
    try:
        from fetch_swagger_ui import fetch
    finally:
        sys.path.pop(0)
    fetch()


CHROMIUM = os.environ.get("LEOFLOW_TEST_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def chromium() -> str:
    if not Path(CHROMIUM).exists():
        message = f"no Chromium at {CHROMIUM} (apt-get install -y chromium)"
        if os.environ.get("LEOFLOW_REQUIRE_SERVICES"):
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture(scope="session")
def ui_lite(tmp_path_factory):
    fetch_ui_assets()
    fetch_swagger_ui()  # the REST API browser at /docs (test_api_reference.py)
    tmp = tmp_path_factory.mktemp("ui")
    home, dags = tmp / "home", tmp / "dags"
    home.mkdir()
    shutil.copytree(ROOT / "dags", dags, ignore=shutil.ignore_patterns("__pycache__"))
    lite = Lite(home, dags).start()
    try:
        lite.wait_for_dag("example_etl")
        lite.wait_for_dag("example_bash")
        yield lite
    finally:
        lite.stop()


def pytest_terminal_summary(terminalreporter):
    from .browser import MISSING
    from .test_ui_ops import UI_RESULTS, _ops

    if UI_RESULTS:
        total = len(_ops())
        ok = sum(r["ok"] for r in UI_RESULTS.values())
        valid = sum(r["schema_valid"] for r in UI_RESULTS.values())
        terminalreporter.write_line(f"ui ops: {ok}/{total} ok, schema-valid {valid}/{total}")
    if MISSING:
        terminalreporter.write_line(f"ui browser: endpoints the UI called that Leoflow does not serve yet: "
                                    f"{', '.join(sorted(MISSING))}")
