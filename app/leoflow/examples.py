"""The example DAGs a new user sees first: `dags/` in a checkout, carried inside the single executable."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def examples_dir() -> Path | None:
    frozen = getattr(sys, "_MEIPASS", None)
    candidates = [Path(frozen) / "leoflow_examples"] if frozen else []
    candidates.append(Path(__file__).resolve().parents[2] / "dags")  # app/leoflow/ -> repo root
    return next((c for c in candidates if c.is_dir()), None)


def seed_dags_folder(folder: Path) -> bool:
    """Give a brand-new DAG folder the examples, so a first `leoflow lite` has something to run."""
    if folder.exists():
        return False
    source = examples_dir()
    if source is None:
        folder.mkdir(parents=True, exist_ok=True)
        return False
    shutil.copytree(source, folder, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return True
