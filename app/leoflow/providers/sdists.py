"""Source distributions for the single executable: built into wheels by a Python of its version on PATH.

pip builds a source distribution by starting `sys.executable` as a Python, and in the executable that is
Leoflow; so its pip installs wheels only (`--only-binary :all:`). Some requirements have no wheel for
Linux at all (mysqlclient, which the MySQL provider needs, is published as a source distribution only):
for those, a Python of the embedded interpreter's version found on PATH (`python3.11`, else `python3`
or `python` when it is that version, with pip) builds the wheel, for that version's ABI, into
`<site-packages>/.leoflow-wheels/`; pip resolves again with that folder among its links, and the wheel
is installed by the executable's own pip like any other. Built wheels are kept there, so a later install
of the same version does not compile again.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from .names import is_airflow_itself

WHEELS = ".leoflow-wheels"
BUILD_TIMEOUT = 1800  # seconds for one wheel (a C extension on a slow machine)
MAX_BUILDS = 20  # source-only requirements in one request: a bound on the resolve-build-resolve loop
_NO_WHEEL = re.compile(r"Could not find a version that satisfies the requirement (\S+)"
                       r"(?: \(from [^)]*\))? \(from versions: none\)")
_DEPENDS = re.compile(r"^\s*(\S+) (\S+) depends on (.+)$")
_UNAVAILABLE = "some packages in these conflicts have no matching distributions available"


def frozen() -> bool:
    return bool(getattr(sys, "frozen", False))


def wheels_folder(target: Path | None) -> Path | None:
    """Where wheels built here are kept (the executable installs into a folder, `target`, always)."""
    return None if target is None or not frozen() else Path(target) / WHEELS


def pip_options(target: Path | None) -> list[str]:
    """What the executable's pip adds to every install: wheels only, and the ones built here."""
    if not frozen():
        return []
    wheels = wheels_folder(target)
    links = ["--find-links", str(wheels)] if wheels is not None and wheels.is_dir() else []
    return ["--only-binary", ":all:", *links]


def missing_wheels(pip_output: str, own: set[str] = frozenset()) -> list[Requirement]:
    """The requirements pip found no wheel of, from its error text, the likeliest to matter first; never
    one of `own`, Leoflow's own libraries (canonical names): they are pinned, and pip finding no wheel of
    one means a request for another version of it, a conflict pip reports as such, not a build to make.

    Asked for directly: `Could not find a version that satisfies the requirement X (from versions: none)`.
    Needed by a provider: pip backtracks through every release of it and ends in a conflict whose text
    names the packages with "no matching distributions"; each is taken with the requirement of the newest
    release that depends on it (mysqlclient from the MySQL provider 6.x before mysql-connector-python,
    which only its 1.x and 2.x releases wanted)."""
    found = [m.group(1) for m in _NO_WHEEL.finditer(pip_output)]
    lines = pip_output.splitlines()
    if any(_UNAVAILABLE in line for line in lines):
        start = next(i for i, line in enumerate(lines) if _UNAVAILABLE in line)
        names = []
        for line in lines[start + 1:]:
            if not line.startswith(" ") or not line.strip():
                break
            names.append(canonicalize_name(line.strip()))
        newest: dict[str, tuple[Version, str]] = {}
        for line in lines:
            m = _DEPENDS.match(line)
            if not m:
                continue
            try:
                wanted, version = Requirement(m.group(3)), Version(m.group(2))
            except (InvalidRequirement, InvalidVersion):
                continue
            name = canonicalize_name(wanted.name)
            if name in names and (name not in newest or version > newest[name][0]):
                newest[name] = (version, m.group(3))
        found += [text for _, text in sorted(newest.values(), key=lambda item: item[0], reverse=True)]
    result = []
    for text in found:
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            continue
        if canonicalize_name(requirement.name) not in own and not is_airflow_itself(requirement.name):
            result.append(requirement)
    return result


def builder_python() -> str | None:
    """A Python of the embedded interpreter's major.minor on PATH that has pip, or None."""
    want = f"{sys.version_info.major}.{sys.version_info.minor}"
    for name in (f"python{want}", "python3", "python"):
        found = shutil.which(name)
        if found is None:
            continue
        try:
            done = subprocess.run([found, "-c", "import sys, pip; print('%d.%d' % sys.version_info[:2])"],
                                  capture_output=True, text=True, timeout=60, env=outside_environment())
        except (OSError, subprocess.TimeoutExpired):
            continue
        if done.returncode == 0 and done.stdout.strip() == want:
            return found
    return None


def outside_environment() -> dict[str, str]:
    """The environment for a program outside the executable: the system's libraries, not the ones the
    executable unpacked for itself, and no Python path meant for Leoflow."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONHOME", "PYTHONPATH")}
    original = env.pop("LD_LIBRARY_PATH_ORIG", None)
    if original is not None:
        env["LD_LIBRARY_PATH"] = original
    else:
        env.pop("LD_LIBRARY_PATH", None)
    return env


class BuildError(Exception):
    """A source distribution that could not be built; the message says which and why."""


# pip's options that say where packages come from: the build looks where the install looks
_INDEX_OPTIONS = {"-i": True, "--index-url": True, "--extra-index-url": True, "-f": True, "--find-links": True,
                  "--trusted-host": True, "--no-index": False, "--pre": False}


def index_options(args: list[str]) -> list[str]:
    """The index options among pip arguments (`--index-url URL`, `--find-links=DIR`, `--no-index`, ...)."""
    found, i = [], 0
    while i < len(args):
        name = args[i].split("=", 1)[0]
        if name in _INDEX_OPTIONS:
            takes_value = _INDEX_OPTIONS[name] and "=" not in args[i]
            found += args[i:i + 1 + takes_value]
            i += takes_value
        i += 1
    return found


def build(requirement: Requirement, wheels: Path, constraints: Path, log, options: list[str] = ()) -> None:
    """Build `requirement`'s wheel (not its dependencies: pip resolves those next) into `wheels`, looking
    where the install looks (`options`: its index options)."""
    want = f"{sys.version_info.major}.{sys.version_info.minor}"
    shown = f"{requirement.name}{requirement.specifier}"  # without its marker: one word in messages
    python = builder_python()
    if python is None:
        raise BuildError(f"no wheel of {shown} for this Python ({want}) and platform, and the single "
                         f"executable builds source distributions with a Python {want} on PATH that has pip: "
                         f"none found (python{want}, python3, python). Install Python {want}, or a wheel of "
                         "it with `leoflow pip install /path/to/the.whl`")
    wheels.mkdir(parents=True, exist_ok=True)
    command = [python, "-m", "pip", "wheel", "--disable-pip-version-check", "--no-deps", "--wheel-dir",
               str(wheels), "-c", str(constraints), *options, str(requirement)]
    log(f"$ {' '.join(command)}  (no wheel of {requirement.name} for this Python: building it)")
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=BUILD_TIMEOUT,
                              env=outside_environment())
    except subprocess.TimeoutExpired:
        raise BuildError(f"building {shown} took more than {BUILD_TIMEOUT} s") from None
    if done.returncode != 0 and _NO_WHEEL.search(f"{done.stdout}\n{done.stderr}"):  # a name no index has
        raise BuildError(f"Could not find a version that satisfies the requirement {shown} (neither a "
                         f"wheel nor a source distribution of it for this Python, {want})")
    if done.returncode != 0:
        lines = [ln for ln in f"{done.stdout}\n{done.stderr}".splitlines() if ln.strip()]
        errors = [ln for ln in lines if "error" in ln.lower()][-8:] or lines[-8:]
        raise BuildError(f"building {shown} from source with {python} failed:\n" + "\n".join(errors))


def resolve(run_pip, args: list[str], target: Path | None, constraints: Path, own: set[str],
            log) -> subprocess.CompletedProcess:
    """`run_pip(args + options)`, a resolving pip run; in the executable, each requirement that has no
    wheel is built (see the module's text) and the run repeated, until it resolves or fails otherwise;
    never one of `own` (see missing_wheels)."""
    built: set[str] = set()
    while True:
        done = run_pip([*args, *pip_options(target)])
        wheels = wheels_folder(target)
        if done.returncode == 0 or wheels is None or len(built) >= MAX_BUILDS:
            return done
        wanted = [r for r in missing_wheels(f"{done.stdout}\n{done.stderr}", own) if str(r) not in built]
        if not wanted:
            return done
        build(wanted[0], wheels, constraints, log, index_options(args))
        built.add(str(wanted[0]))
