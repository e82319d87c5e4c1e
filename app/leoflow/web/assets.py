"""Where the Airflow UI build and the Monaco editor files are: a checkout's embedded/ or the executable."""

from __future__ import annotations

import sys
from pathlib import Path

MONACO_VERSION = "0.52.2"
# What the UI build hard-codes as Monaco's home; served locally instead (see web/ui.py).
MONACO_CDN = f"https://cdn.jsdelivr.net/npm/monaco-editor@{MONACO_VERSION}/min/vs"
# Inside the executable (build/leoflow.spec puts them there).
FROZEN_UI, FROZEN_MONACO = "leoflow_ui/dist", "leoflow_ui/monaco-editor"


def _root() -> Path:
    frozen = getattr(sys, "_MEIPASS", None)
    return Path(frozen) if frozen else Path(__file__).resolve().parents[3]


def _installed() -> Path | None:
    """A wheel from `make release` carries both in the data package `leoflow_ui`, laid out as inside
    the executable (build/wheel.py)."""
    import importlib.util

    spec = importlib.util.find_spec("leoflow_ui")
    return Path(spec.origin).parent.parent if spec and spec.origin else None


def ui_dist() -> Path | None:
    """The unpacked `airflow/ui/dist` (index.html, assets/, i18n/), or None when not fetched."""
    if getattr(sys, "_MEIPASS", None):
        candidate = _root() / FROZEN_UI
    else:
        candidate = _root() / "embedded" / "airflow-core" / "airflow" / "ui" / "dist"
        if not (candidate / "index.html").is_file() and (installed := _installed()):
            candidate = installed / FROZEN_UI
    return candidate if (candidate / "index.html").is_file() else None


def monaco_vs() -> Path | None:
    """Monaco's `min/vs` folder (loader.js, editor/, base/worker/...), or None when not fetched."""
    if getattr(sys, "_MEIPASS", None):
        candidate = _root() / FROZEN_MONACO / "min" / "vs"
    else:
        candidate = _root() / "embedded" / "ui" / "monaco-editor" / "min" / "vs"
        if not (candidate / "loader.js").is_file() and (installed := _installed()):
            candidate = installed / FROZEN_MONACO / "min" / "vs"
    return candidate if (candidate / "loader.js").is_file() else None
