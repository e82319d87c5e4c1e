"""`leoflow providers install`: provider wheels and their third-party requirements, never Airflow itself.

A provider's wheel names `apache-airflow>=X` among its requirements; Leoflow is that Airflow, so the
providers are installed without their dependencies (`--no-deps`), after walking their requirements by
hand: other providers are installed the same way, Airflow's own distributions are dropped, and the
third-party ones are installed by pip normally, pinned to the versions Leoflow itself runs with, so a
provider that needs a different version of one of Leoflow's libraries is refused with the conflict
named instead of breaking Leoflow.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from email.parser import Parser
from importlib import metadata
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from leoflow import AIRFLOW_COMPAT_VERSION

from . import sdists
from .names import distribution_name, is_airflow_itself, is_provider

# What Leoflow stands for while pip resolves (the versions Airflow 3.2.1 ships together).
AIRFLOW_DISTRIBUTIONS = {"apache-airflow": f"{AIRFLOW_COMPAT_VERSION}+leoflow",
                         "apache-airflow-core": f"{AIRFLOW_COMPAT_VERSION}+leoflow",
                         "apache-airflow-task-sdk": "1.2.1+leoflow"}
# The libraries of Airflow 3.2.1's own environment that provider modules import without declaring them
# (they run where Airflow is installed): the stand-in for apache-airflow-core requires these, so pip
# installs them beside the providers. Airflow's server stack (FastAPI, uvicorn, Alembic, OpenTelemetry)
# is not among them: providers do not import it at module level.
AIRFLOW_RUNTIME_LIBRARIES = (
    "attrs>=22.1.0", "asgiref>=2.3.0", "croniter>=2.0.2", "cryptography>=44.0.3", "deprecated>=1.2.13",
    "dill>=0.2.2", "fsspec>=2023.10.0", "httpx>=0.25.0", "jinja2>=3.1.5", "jsonschema>=4.19.1",
    "lazy-object-proxy>=1.2.0", "methodtools>=0.4.7", "packaging>=25.0", "pendulum>=3.1.0", "psutil>=5.8.0",
    "pydantic>=2.11.0", "python-dateutil>=2.7.0", "python-slugify>=5.0", "pyyaml>=6.0.3", "requests>=2.32.0,<3",
    "rich>=13.6.0", "sqlalchemy>=2.0", "structlog>=25.4.0", "tabulate>=0.9.0", "tenacity>=8.3.0",
    "typing-extensions>=4.14.1", "universal-pathlib>=0.3.8",
)
PIP_TIMEOUT = 1800  # seconds for one pip run (a slow index, a big wheel)


class InstallError(Exception):
    """A provider that cannot be installed; the message says which and why."""


@dataclass
class Plan:
    """What an install does: the providers and the libraries pip resolved for them, as exact pins."""

    providers: dict[str, str] = field(default_factory=dict)  # distribution -> version
    third_party: list[str] = field(default_factory=list)


def parse_request(text: str) -> Requirement:
    """`postgres`, `postgres==6.2.0`, `apache-airflow-providers-http>=5` -> the provider's requirement."""
    text = text.strip()
    try:
        requirement = Requirement(text)
    except InvalidRequirement as exc:
        raise InstallError(f"{text!r} is not a provider name or requirement: {exc}") from None
    requirement.name = distribution_name(requirement.name)
    if is_airflow_itself(requirement.name):
        raise InstallError(f"refusing to install {requirement.name}: Leoflow is the Airflow these providers run "
                           "on; installing Airflow itself beside it would shadow Leoflow")
    if not is_provider(requirement.name):
        raise InstallError(f"{requirement.name} is not an Airflow provider (apache-airflow-providers-*); "
                           "install libraries with pip")
    return requirement


def bundled() -> dict[str, str]:
    """The single executable's own distributions (name -> version), written by build/leoflow.spec: most
    of them carry no metadata inside the build, so pip would not see them as installed. Empty from source."""
    if not getattr(sys, "frozen", False):
        return {}
    try:
        return json.loads((Path(sys._MEIPASS) / BUNDLED_FILE).read_text())
    except (OSError, ValueError, AttributeError):
        return {}


BUNDLED_FILE = "leoflow_bundled.json"


def installed_version(distribution: str, path: list[str] | None = None) -> str | None:
    try:
        found = metadata.distribution(distribution) if path is None else next(
            iter(metadata.distributions(name=distribution, path=path)))
        return found.version
    except (metadata.PackageNotFoundError, StopIteration):
        return bundled().get(canonicalize_name(distribution))


def own_pins(exclude: Path | None = None) -> dict[str, str]:
    """Every distribution installed beside Leoflow, at its version: what providers may not change
    (`exclude`: the folder being installed into, whose own contents may change)."""
    pins = dict(bundled())
    path = None if exclude is None else [p for p in sys.path if Path(p or ".").absolute() != exclude.absolute()]
    for dist in metadata.distributions(**({} if path is None else {"path": path})):
        name = dist.metadata.get("Name")
        if name and not is_provider(name):
            pins.setdefault(canonicalize_name(name), dist.version)
    return pins


def constraints_file(folder: Path, extra_constraints: Path | None, target: Path | None = None) -> Path:
    """Leoflow's own pins, then any given constraints file's lines for the other packages."""
    pins = own_pins(target)
    lines = [f"{name}=={version}" for name, version in sorted(pins.items())]
    if extra_constraints is not None:
        for line in extra_constraints.read_text().splitlines():
            stripped = line.split("#", 1)[0].strip()
            if not stripped:
                continue
            try:
                name = canonicalize_name(Requirement(stripped).name)
            except InvalidRequirement:
                continue
            if name not in pins and not is_airflow_itself(name):
                lines.append(stripped)
    lines += [f"{name}=={version}" for name, version in AIRFLOW_DISTRIBUTIONS.items()]
    path = folder / "constraints.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def pip_command() -> list[str]:
    """pip for the interpreter Leoflow runs on: the venv's from source; in the single executable the pip
    bundled in it, run by Leoflow itself (`leoflow _pip`: the embedded interpreter and its wheel tags)."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "_pip"]
    return [sys.executable, "-m", "pip"]


def _pip(args: list[str], log) -> subprocess.CompletedProcess:
    command = [*pip_command(), "--disable-pip-version-check", *args]
    log(f"$ pip {' '.join(args)}")
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise InstallError(f"pip {args[0]} took more than {PIP_TIMEOUT} s") from None


def stand_ins(folder: Path) -> Path:
    """Wheels that stand for Airflow itself while pip resolves: `apache-airflow==3.2.1+leoflow` and its
    core and task SDK, with no files and no requirements. pip then resolves the providers and their
    libraries exactly as it would for Airflow 3.2.1 (constraints, backtracking, conflicts); the stand-ins
    are only ever resolved, never installed."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, version in AIRFLOW_DISTRIBUTIONS.items():
        stem = f"{name.replace('-', '_')}-{version}"
        requires = "".join(f"Requires-Dist: {r}\n" for r in AIRFLOW_RUNTIME_LIBRARIES) if name == "apache-airflow-core" \
            else f"Requires-Dist: apache-airflow-core=={AIRFLOW_DISTRIBUTIONS['apache-airflow-core']}\n"
        files = {f"{stem}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
                 f"Summary: Leoflow serves this distribution's modules\n{requires}",
                 f"{stem}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: leoflow\nRoot-Is-Purelib: true\n"
                 "Tag: py3-none-any\n"}
        files[f"{stem}.dist-info/RECORD"] = "".join(f"{n},,\n" for n in [*files, f"{stem}.dist-info/RECORD"])
        with zipfile.ZipFile(folder / f"{stem}-py3-none-any.whl", "w") as zf:
            for member, text in files.items():
                zf.writestr(member, text)
    return folder


def plan(requests: list[str], folder: Path, constraints: Path, target: Path | None = None,
         log=lambda line: None) -> Plan:
    """Resolve the asked providers with pip (Airflow itself stood in for); what must be installed."""
    asked = [parse_request(text) for text in requests]
    report = folder / "report.json"
    where = [] if target is None else ["--target", str(target)]
    args = ["install", "--dry-run", "--ignore-installed" if target else "--upgrade-strategy=only-if-needed",
            "--report", str(report), "--find-links", str(stand_ins(folder / "stand-ins")),
            "-c", str(constraints), *where, *map(str, asked)]
    try:
        done = sdists.resolve(lambda more: _pip(more, log), args, target, constraints, set(own_pins(target)),
                              log)
    except sdists.BuildError as exc:
        raise InstallError(f"cannot install {', '.join(map(str, asked))}: {exc}") from None
    if done.returncode != 0:
        raise InstallError(f"cannot install {', '.join(map(str, asked))} beside Leoflow:\n{_pip_error(done)}")
    result = Plan()
    search = [str(target), *sys.path] if target is not None else None
    for item in json.loads(report.read_text()).get("install", []):
        name, version = item["metadata"]["name"], item["metadata"]["version"]
        if is_airflow_itself(name):
            continue
        if is_provider(name):
            result.providers[canonicalize_name(name)] = version
        elif installed_version(name, search) != version:
            result.third_party.append(f"{name}=={version}")
    return result


def _pip_error(done: subprocess.CompletedProcess) -> str:
    """pip's own reason: for a conflict, its "The conflict is caused by" lines (both sides named)."""
    lines = [ln.rstrip() for ln in f"{done.stdout}\n{done.stderr}".splitlines() if ln.strip() and "is ignored: it is neither" not in ln]
    if "The conflict is caused by:" in lines:
        start = lines.index("The conflict is caused by:")
        cause = [lines[start]]
        for line in lines[start + 1:]:
            if not line.startswith(" "):
                break
            cause.append(line.replace("(constraint)", "(Leoflow's own, or the constraints file)"))
        errors = [ln for ln in lines if ln.startswith("ERROR: Cannot install")]
        return "\n".join(errors[:1] + cause)[-3000:]
    errors = [ln for ln in lines if ln.startswith("ERROR")]
    text = "\n".join(errors or lines[-10:])[-3000:]
    if getattr(sys, "frozen", False) and "from versions: none" in text:
        text += ("\n(the single executable installs wheels only, for its Python "
                 f"{sys.version_info.major}.{sys.version_info.minor}: this package has none for it)")
    return text


def install(requests: list[str], target: Path | None = None, extra_constraints: Path | None = None,
            log=lambda line: None) -> Plan:
    """Install `requests` (short names or requirement strings) into this environment or `target`."""
    with tempfile.TemporaryDirectory(prefix="leoflow-providers-") as tmp:
        folder = Path(tmp)
        chosen = plan(requests, folder, constraints_file(folder, extra_constraints, target), target, log)
        where = [] if target is None else ["--target", str(target), "--upgrade"]
        pins = [*chosen.third_party, *(f"{n}=={v}" for n, v in chosen.providers.items())]
        if pins:  # resolved above: exactly these, nothing pip would add on its own
            done = _pip(["install", "--no-deps", *sdists.pip_options(target), *where, *pins], log)
            if done.returncode != 0:
                raise InstallError(f"installing {', '.join(pins)} failed:\n{_pip_error(done)}")
    return chosen
