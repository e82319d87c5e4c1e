"""Fetch the apache-airflow-core 3.2.1 wheel from PyPI and unpack what Leoflow uses from it.

Never committed: the UI build, Airflow's example DAGs (the compatibility
yardstick) and its OpenAPI documents land in embedded/airflow-core/ (cached;
a second run does nothing).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

VERSION = "3.2.1"
ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "embedded" / "airflow-core"
WANTED = ("airflow/ui/dist/", "airflow/example_dags/", "airflow/api_fastapi/core_api/openapi/")


def fetch() -> Path:
    stamp = TARGET / f".complete-{VERSION}"
    if stamp.exists():
        return TARGET
    print(f"==> Fetching the Airflow {VERSION} UI build (apache-airflow-core from the package index, once)", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--disable-pip-version-check",
                        "--only-binary", ":all:", "-d", tmp, f"apache-airflow-core=={VERSION}"], check=True)
        wheel = next(Path(tmp).glob("apache_airflow_core-*.whl"))
        with zipfile.ZipFile(wheel) as zf:
            for name in zf.namelist():
                if name.startswith(WANTED):
                    zf.extract(name, TARGET)
    stamp.write_text(VERSION + "\n")
    return TARGET


if __name__ == "__main__":
    print(fetch())
