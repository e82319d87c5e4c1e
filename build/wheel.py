"""The wheel and the sdist, with the Airflow UI build and the Monaco editor inside (make release; ADR 28).

`pip wheel .` from the checkout carries neither (they are fetched into embedded/, never committed),
and a pip-installed Leoflow then serves "the UI files are not part of this installation". This
stages the tracked sources plus a data package `leoflow_ui` laid out as inside the executable
(leoflow/web/assets.py finds it), and builds both from there with `python -m build`.

usage: python build/wheel.py OUT_DIR   (run with the release tools' python, which has `build`)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAGE = ROOT / "build" / "work" / "wheel-src"
sys.path.insert(0, str(ROOT / "build"))
import fetch_airflow_core  # noqa: E402
import fetch_monaco  # noqa: E402
import fetch_swagger_ui  # noqa: E402

PACKAGE_DATA = '"leoflow_ui" = ["dist/**/*", "monaco-editor/**/*", "swagger-ui/*"]\n'


def stage() -> Path:
    shutil.rmtree(STAGE, ignore_errors=True)
    tracked = subprocess.run(["git", "ls-files", "-z", "app", "pyproject.toml", "README.md"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout.split("\0")
    for name in filter(None, tracked):
        (STAGE / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, STAGE / name)
    ui = STAGE / "app" / "leoflow_ui"
    shutil.copytree(fetch_airflow_core.fetch() / "airflow" / "ui" / "dist", ui / "dist")
    shutil.copytree(fetch_monaco.fetch() / "min", ui / "monaco-editor" / "min")
    shutil.copytree(fetch_swagger_ui.fetch(), ui / "swagger-ui", ignore=shutil.ignore_patterns(".*"))  # /docs
    (ui / "__init__.py").write_text('"""The Airflow UI build and the Monaco editor, as data (leoflow/web/assets.py)."""\n')
    pyproject = (STAGE / "pyproject.toml").read_text()
    marker = "[tool.setuptools.package-data]\n"
    assert marker in pyproject, "pyproject.toml has no [tool.setuptools.package-data]"
    (STAGE / "pyproject.toml").write_text(pyproject.replace(marker, marker + PACKAGE_DATA, 1))
    return STAGE


def main(out: Path) -> int:
    stage()
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "SOURCE_DATE_EPOCH": os.environ.get("SOURCE_DATE_EPOCH") or subprocess.run(
        ["git", "log", "-1", "--format=%ct"], cwd=ROOT, capture_output=True, text=True).stdout.strip()}
    subprocess.run([sys.executable, "-m", "build", "--sdist", "--wheel", "--outdir", str(out), str(STAGE)],
                   check=True, env=env, stdout=subprocess.DEVNULL)
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
