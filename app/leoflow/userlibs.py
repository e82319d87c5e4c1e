"""The user's libraries on sys.path: `PYTHONPATH`, then `$LEOFLOW_HOME/site-packages`, then Leoflow's own.

From source Python reads `PYTHONPATH` itself and the venv's site-packages come after it; the home's
site-packages go between them. The single executable's interpreter ignores the environment (PyInstaller
runs it isolated), so both are put in front of the bundled modules here, at the start of every
`leoflow` process (the CLI, lite and its DAG processor, a respawned fork server: its forks, the tasks,
inherit the path). ADR 24 says what a user library that shadows a bundled one means.
"""

from __future__ import annotations

import os
import site
import sys
from pathlib import Path

# Where the home's site-packages of this process are, for the processes it starts (`--home` is not in
# their environment).
ENV = "LEOFLOW_SITE_PACKAGES"
_added: list[str] = []


def default_home() -> Path:
    home = os.environ.get("LEOFLOW_HOME") or os.environ.get("AIRFLOW_HOME")
    if home:
        return Path(home).expanduser().absolute()
    import platformdirs

    return Path(platformdirs.user_data_dir("leoflow"))


def site_packages(home: Path | str | None = None, inherited: bool = False) -> Path:
    """`$LEOFLOW_HOME/site-packages` (the home given, else the environment's; `inherited`: the one the
    parent Leoflow process used, for its internal children)."""
    if home is None and inherited and os.environ.get(ENV):
        return Path(os.environ[ENV])
    return (Path(home).expanduser().absolute() if home is not None else default_home()) / "site-packages"


def frozen() -> bool:
    return bool(getattr(sys, "frozen", False))


def _pythonpath() -> list[str]:
    return [os.path.abspath(p) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]


def activate(home: Path | str | None = None, inherited: bool = False) -> Path:
    """Put PYTHONPATH (frozen only: Python did it otherwise) and the home's site-packages in front of
    Leoflow's own libraries; again with another home moves the site-packages entry. Returns it."""
    folder = site_packages(home, inherited)
    os.environ[ENV] = str(folder)
    for entry in _added:
        while entry in sys.path:
            sys.path.remove(entry)
    _added.clear()
    user = _pythonpath()
    wanted = [*user, str(folder)] if frozen() else [str(folder)]
    for entry in wanted:
        while entry in sys.path:
            sys.path.remove(entry)
    if frozen():
        position = 0
    else:
        # after the script's folder and PYTHONPATH's entries, which Python put first
        present = [sys.path.index(p) for p in user if p in sys.path]
        position = max(present) + 1 if present else min(1, len(sys.path))
    sys.path[position:position] = wanted
    _added.extend(wanted)
    add_pth_files(folder)
    return folder


def add_pth_files(folder: Path) -> None:
    """What the folder's `.pth` files add (as site-packages would); the folder itself keeps its place."""
    if folder.is_dir() and any(folder.glob("*.pth")):
        site.addsitedir(str(folder))


def refresh(folder: Path) -> None:
    """After an install into `folder` in this process: new packages become importable."""
    import importlib

    add_pth_files(folder)
    importlib.invalidate_caches()
