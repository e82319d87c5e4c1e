"""The UI build and Monaco, fetched once per checkout (cached in the gitignored embedded/)."""

from __future__ import annotations

import sys

import pytest

from tests.reference import ROOT, airflow_core


def fetch_ui_assets():
    """Both fetchers are no-ops once their files are there; a fresh clone downloads them here."""
    airflow_core()
    sys.path.insert(0, str(ROOT / "build"))
    try:
        from fetch_monaco import fetch
    finally:
        sys.path.pop(0)
    fetch()


@pytest.fixture(scope="session")
def ui_assets():
    fetch_ui_assets()
    from leoflow.web import assets

    assert assets.ui_dist() is not None and assets.monaco_vs() is not None
    return assets
