"""Which build this is: `leoflow version --json` (ADR 28).

A frozen build carries `leoflow_build.json`, written by build/leoflow.spec from the commit it was
built from and that commit's time (SOURCE_DATE_EPOCH), so two builds of one commit stay identical.
From source, the commit is asked of git and there is no build date.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from pathlib import Path

from . import AIRFLOW_COMPAT_VERSION, __version__

BUILD_FILE = "leoflow_build.json"


def build_info() -> dict:
    info = {"version": __version__, "commit": None, "build_date": None,
            "airflow_compat_version": AIRFLOW_COMPAT_VERSION, "python": platform.python_version(),
            "frozen": bool(getattr(sys, "frozen", False))}
    if info["frozen"]:
        try:
            info.update(json.loads((Path(sys._MEIPASS) / BUILD_FILE).read_text()))
        except (OSError, ValueError):
            pass
        return info
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True,
                             text=True, timeout=5)
        if out.returncode == 0:
            info["commit"] = out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return info


def version_line(info: dict) -> str:
    """`leoflow version`: the version first (scripts take the first word), then the commit and the build
    date when they are known."""
    details = []
    if info.get("commit"):
        details.append(f"commit {info['commit'][:12]}")
    if info.get("build_date"):
        details.append(f"built {info['build_date']}")
    elif info.get("commit") and not info.get("frozen"):
        details.append("from source")
    return f"{info['version']} ({', '.join(details)})" if details else info["version"]
