"""Where tests find the yardsticks: the shared Airflow 3.2.1 observations and the fetched wheel."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# shared/ sits beside the checkout (in CI: beside the fresh clone).
SHARED = Path(os.environ.get("LEOFLOW_SHARED", ROOT.parent / "shared")).resolve()
AIRFLOW_REF = SHARED / "airflow-3.2.1"
BODIES = AIRFLOW_REF / "bodies"
BENCH_DAGS = AIRFLOW_REF / "bench_dags"
REFERENCE_EXAMPLES = AIRFLOW_REF / "example_dags"


def airflow_core() -> Path:
    """The unpacked apache-airflow-core wheel (fetched from PyPI on first use, then cached)."""
    import sys

    sys.path.insert(0, str(ROOT / "build"))
    try:
        from fetch_airflow_core import fetch
    finally:
        sys.path.pop(0)
    return fetch() / "airflow"


def example_dags() -> Path:
    return airflow_core() / "example_dags"
