"""Libraries for DAGs in `$LEOFLOW_HOME/site-packages`: `leoflow pip install ...` and `requirements.txt`.

pip runs for the interpreter Leoflow runs on (in the single executable: its own bundled pip, so the wheels
match the embedded Python's version and platform). As for providers, pip first resolves the request with
Leoflow's own libraries pinned to their versions (a request for another version of one of them is refused
with the conflict named: it would shadow Leoflow's own), then exactly what is missing from the home and
from Leoflow is installed there, without dependencies of its own.

A `requirements.txt` beside the DAG files (or the file LEOFLOW_REQUIREMENTS names) is installed this way
when lite or the server starts, once per content: its hash is kept in the home, and an unchanged file
installs nothing. A failed install is one error naming the package; the DAG files that then cannot import
it show import errors that say so.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

from packaging.utils import canonicalize_name

from leoflow import userlibs

from . import install as _install
from . import sdists
from .install import InstallError
from .names import is_airflow_itself

log = logging.getLogger("leoflow.requirements")
STATE_FILE = ".leoflow-requirements.json"


def install_libraries(pip_args: list[str], target: Path, log=lambda line: None) -> list[str]:
    """`pip install PIP_ARGS` into `target` beside Leoflow's own libraries; the `name==version`s installed."""
    target = Path(target).absolute()
    with tempfile.TemporaryDirectory(prefix="leoflow-pip-") as tmp:
        folder = Path(tmp)
        constraints = _install.constraints_file(folder, None, target)
        report = folder / "report.json"
        args = ["install", "--dry-run", "--ignore-installed", "--report", str(report),
                "--find-links", str(_install.stand_ins(folder / "stand-ins")), "-c", str(constraints), *pip_args]
        try:
            done = sdists.resolve(lambda more: _install._pip(more, log), args, target, constraints,
                                  set(_install.own_pins(target)), log)
        except sdists.BuildError as exc:
            raise InstallError(str(exc)) from None
        if done.returncode != 0:
            raise InstallError(_install._pip_error(done))
        search = [str(target), *(p for p in sys.path if Path(p or ".").absolute() != target)]
        wanted, sources = [], []
        for item in json.loads(report.read_text()).get("install", []):
            name, version = item["metadata"]["name"], item["metadata"]["version"]
            if is_airflow_itself(name) or _install.installed_version(name, search) == version:
                continue
            wanted.append(f"{canonicalize_name(name)}=={version}")
            sources.append(item.get("download_info", {}).get("url") or f"{name}=={version}")
        if sources:
            target.mkdir(parents=True, exist_ok=True)
            done = _install._pip(["install", "--no-deps", "--upgrade", "--target", str(target),
                                  *sdists.pip_options(target), *sources], log)
            if done.returncode != 0:
                raise InstallError(f"installing {', '.join(wanted)} failed:\n{_install._pip_error(done)}")
            userlibs.refresh(target)
    return wanted


def requirements_file(dags_folder: Path) -> Path | None:
    """LEOFLOW_REQUIREMENTS, else `requirements.txt` in the DAG folder; None when there is none."""
    named = os.environ.get("LEOFLOW_REQUIREMENTS")
    path = Path(named).expanduser().absolute() if named else Path(dags_folder) / "requirements.txt"
    if named and not path.is_file():
        raise SystemExit(f"leoflow: LEOFLOW_REQUIREMENTS={named}: no such file")
    return path if path.is_file() else None


def _key(text: str) -> str:
    # The same file for another Leoflow build (another embedded Python, other own libraries) installs again.
    parts = [text, sys.version, json.dumps(sorted(_install.own_pins(userlibs.site_packages(inherited=True)).items()))]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def ensure_requirements(dags_folder: Path, target: Path) -> bool | None:
    """At start: install the requirements file into `target` unless this content already is. True: it is
    installed now or was; False: the install failed (logged, kept for import errors); None: no file."""
    path = requirements_file(dags_folder)
    if path is None:
        return None
    import fcntl

    Path(target).mkdir(parents=True, exist_ok=True)
    with open(Path(target) / ".leoflow-requirements.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two servers on one home: the second finds it installed
        return _ensure(path, Path(target))


def _ensure(path: Path, target: Path) -> bool:
    state_path = target / STATE_FILE
    text = path.read_text()
    key = _key(text)
    try:
        state = json.loads(state_path.read_text())
    except (OSError, ValueError):
        state = {}
    if state.get("sha256") == key and not state.get("error"):
        log.info("Requirements %s unchanged (sha256 %s): nothing to install", path, key[:12])
        return True
    log.info("Installing requirements from %s into %s ...", path, target)
    started = time.monotonic()
    try:
        installed = install_libraries(["-r", str(path)], target, log=lambda line: log.info("%s", line))
    except InstallError as exc:
        error = f"{path}: {failed_package(str(exc))}"
        log.error("Requirements not installed: %s", error)
        _write_state(state_path, {"sha256": key, "file": str(path), "error": error})
        return False
    log.info("Requirements from %s installed in %.1f s: %s", path, time.monotonic() - started,
             ", ".join(installed) if installed else "all were already there")
    _write_state(state_path, {"sha256": key, "file": str(path), "error": None, "installed": installed})
    return True


def failed_package(pip_error: str) -> str:
    """pip's reason in one line, the package first: `could not install X: no version matches`."""
    import re

    lines = [ln.strip() for ln in pip_error.splitlines() if ln.strip()]
    for line in lines:
        m = re.search(r"(?:Could not find a version that satisfies the requirement|"
                      r"No matching distribution found for) (\S+)", line)
        if m:
            return f"could not install {m.group(1)}: no version of it is available for this Python " \
                   f"({sys.version_info.major}.{sys.version_info.minor}) and platform"
    for line in lines:
        if line.startswith("ERROR: Cannot install"):
            cause = [ln for ln in lines if "depends on" in ln or "(Leoflow's own" in ln]
            return f"{line[len('ERROR: '):]} {' '.join(cause)}".strip()
    return " ".join(lines[:3])


def _write_state(path: Path, state: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state))
    os.replace(tmp, path)


def import_error_note(exc: BaseException) -> str:
    """For a DAG file's ModuleNotFoundError: why the module is missing, when the requirements failed."""
    if not isinstance(exc, ModuleNotFoundError):
        return ""
    try:
        state = json.loads((userlibs.site_packages(inherited=True) / STATE_FILE).read_text())
    except (OSError, ValueError):
        return ""
    if not state.get("error"):
        return ""
    return f"The requirements file did not install: {state['error']}\n"
