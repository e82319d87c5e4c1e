"""Real Airflow provider packages, installed once into a cache outside the repository.

`leoflow.providers.install` (what `leoflow providers install` runs) puts each group of providers, with
the libraries pip resolves for them under Airflow 3.2.1's constraints file, into
`~/.cache/leoflow-test/providers-<key>/` (or under LEOFLOW_TEST_CACHE): made on first use in a folder
beside it and renamed, kept afterwards. The key covers the names, the constraints file, this Python and
Leoflow's own library versions, so a change to any of them installs afresh.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.reference import AIRFLOW_REF
from tests.services import REQUIRED

CACHE = Path(os.environ.get("LEOFLOW_TEST_CACHE", Path.home() / ".cache" / "leoflow-test"))
CONSTRAINTS = AIRFLOW_REF / "anchor" / "constraints-3.2.1-asof-2026-04-22.txt"
SCORE_SCRIPT = Path(__file__).with_name("import_score.py")

# The first ten of issue 15's list must import completely; the rest are measured and reported.
EVERYDAY = ("common-sql", "postgres", "mysql", "sqlite", "http", "smtp", "ssh", "sftp", "redis")
# About 100 MB with boto3 and the kubernetes client: installed once into the cache. cncf-kubernetes is
# what amazon declares for its EKS modules (its optional dependency), installed beside it as a user would.
CLOUD = ("amazon", "cncf-kubernetes", "slack", "docker")
# pandas, pyarrow and Snowpark (about 450 MB): measured only when asked, LEOFLOW_TEST_HEAVY_PROVIDERS=1
HEAVY = ("snowflake", "databricks")
# Google's own requirements are heavier still (Ray and dozens of Google Cloud SDKs: about 2 GB, 8 minutes
# to install here): measured only when asked too, with the providers it declares for its optional modules
# (EKS-like GKE operators need cncf-kubernetes, Compute SSH needs ssh, transfers from S3 need amazon,
# Spanner's lineage needs openlineage), installed beside it as a user would.
GOOGLE = ("google",)
GOOGLE_OPTIONAL = ("amazon", "cncf-kubernetes", "ssh", "openlineage")
HEAVY_WANTED = os.environ.get("LEOFLOW_TEST_HEAVY_PROVIDERS") == "1"
NOT_MEASURED: dict[str, str] = {}
# common-io too: Airflow 3.2.1 itself ships it, so /api/v2/providers is compared with Airflow's own answer
SCORES: dict[str, tuple[int, int]] = {}  # provider -> (imported, modules)
NOTES: list[str] = []


def _unavailable(why: str):
    if REQUIRED:
        pytest.fail(f"provider packages are required here (LEOFLOW_REQUIRE_SERVICES=1) but: {why}")
    pytest.skip(f"provider packages unavailable: {why}")


def _key(names: tuple[str, ...]) -> str:
    from leoflow.providers.install import AIRFLOW_RUNTIME_LIBRARIES, own_pins

    parts = [*names, CONSTRAINTS.read_text() if CONSTRAINTS.exists() else "", sys.version,
             json.dumps(sorted(own_pins().items())), *AIRFLOW_RUNTIME_LIBRARIES]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:12]


def provider_site(names: tuple[str, ...], label: str) -> Path:
    """The folder holding `names` installed (made now if it is not cached)."""
    from leoflow.providers.install import InstallError, install

    if not CONSTRAINTS.exists():
        _unavailable(f"the constraints file {CONSTRAINTS} is missing")
    target = CACHE / f"providers-{label}-{_key(names)}"
    if (target / ".complete").exists():
        NOTES.append(f"{label} cached at {target}")
        return target
    building = target.with_name(f"{target.name}.building-{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)
    started = time.monotonic()
    try:
        install(list(names), target=building, extra_constraints=CONSTRAINTS)
    except InstallError as exc:
        shutil.rmtree(building, ignore_errors=True)
        _unavailable(f"installing {', '.join(names)} failed: {exc}")
    (building / ".complete").write_text(json.dumps(names))
    shutil.rmtree(target, ignore_errors=True)
    os.replace(building, target)
    for stale in CACHE.glob(f"providers-{label}-*"):  # made for other versions: never used again
        if stale != target and ".building-" not in stale.name:
            shutil.rmtree(stale, ignore_errors=True)
    NOTES.append(f"{label} installed into {target} in {time.monotonic() - started:.0f} s")
    return target


@pytest.fixture(scope="session")
def everyday_site() -> Path:
    return provider_site((*EVERYDAY, "common-io"), "everyday")


@pytest.fixture(scope="session")
def cloud_site() -> Path:
    return provider_site(CLOUD, "cloud")


@pytest.fixture(scope="session")
def heavy_site() -> Path:
    if not HEAVY_WANTED:
        pytest.skip("snowflake and databricks need about 450 MB of libraries: LEOFLOW_TEST_HEAVY_PROVIDERS=1")
    return provider_site(HEAVY, "heavy")


@pytest.fixture(scope="session")
def google_site() -> Path:
    if not HEAVY_WANTED:
        pytest.skip("google needs about 2 GB of libraries: LEOFLOW_TEST_HEAVY_PROVIDERS=1")
    return provider_site((*GOOGLE, *GOOGLE_OPTIONAL), "google")


def import_scores(site: Path, names: tuple[str, ...]) -> dict[str, dict]:
    """Each provider's modules imported in a fresh interpreter, with only `site` added (PYTHONPATH)."""
    env = {**os.environ, "PYTHONPATH": str(site)}
    done = subprocess.run([sys.executable, str(SCORE_SCRIPT), *names], capture_output=True, text=True,
                          timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    found = {}
    for line in done.stdout.splitlines():
        if line.startswith("{"):
            item = json.loads(line)
            found[item["provider"]] = item
            SCORES[item["provider"]] = (item["imported"], item["modules"])
    return found


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not SCORES:
        return
    parts = [f"{name} {imported}/{total}" for name, (imported, total) in SCORES.items()]
    if not HEAVY_WANTED:
        parts += [f"{name} not measured (LEOFLOW_TEST_HEAVY_PROVIDERS=1)" for name in (*HEAVY, *GOOGLE)]
    parts += [f"{name} not measured ({why})" for name, why in NOT_MEASURED.items()]
    terminalreporter.write_line("Provider import score: " + ", ".join(parts + NOTES))
