"""What `make release` leaves in dist/release, checked as a user or a scanner would (ADR 28).

Runs against LEOFLOW_TEST_RELEASE_DIR (CI: after `make release`); LEOFLOW_TEST_FIRST_BUILD names the
single executable of an earlier build of the same commit, which must be byte-identical.
"""

import hashlib
import importlib.metadata as md
import json
import os
import re
import subprocess
import sys
import tarfile
from datetime import datetime, timezone
from pathlib import Path

import pytest

RELEASE = os.environ.get("LEOFLOW_TEST_RELEASE_DIR")
pytestmark = pytest.mark.skipif(not RELEASE, reason="set LEOFLOW_TEST_RELEASE_DIR (after make release)")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "build"))
import release  # noqa: E402

sys.path.pop(0)


@pytest.fixture(scope="module")
def assets():
    out = Path(RELEASE)
    name = f"leoflow-{release.version()}-{release.target()}"
    return out, name


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_assets_are_named_for_the_version_and_target(assets):
    out, name = assets
    v = release.version()
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [name, f"{name}-onedir.tar.gz", f"{name}.cdx.json", f"leoflow-{v}-py3-none-any.whl", f"leoflow-{v}.tar.gz",
         "checksums.txt"])
    assert os.access(out / name, os.X_OK)


def test_checksums_verify_and_cover_every_asset(assets):
    out, _ = assets
    lines = (out / "checksums.txt").read_text().splitlines()
    listed = {}
    for line in lines:
        found = re.fullmatch(r"([0-9a-f]{64})  (\S+)", line)
        assert found, f"not sha256sum format: {line!r}"
        listed[found.group(2)] = found.group(1)
    assert set(listed) == {p.name for p in out.iterdir()} - {"checksums.txt"}
    for asset, digest in listed.items():
        assert hashlib.sha256((out / asset).read_bytes()).hexdigest() == digest, asset
    assert subprocess.run(["sha256sum", "--check", "--strict", "--quiet", "checksums.txt"], cwd=out).returncode == 0


def test_a_tampered_asset_is_caught_by_the_checksums(assets, tmp_path):
    out, name = assets
    copy = tmp_path / "release"
    copy.mkdir()
    (copy / "checksums.txt").write_text((out / "checksums.txt").read_text())
    for asset in (f"{name}.cdx.json", f"{name}-onedir.tar.gz", name):
        (copy / asset).symlink_to(out / asset)
    (copy / f"{name}.cdx.json").unlink()
    (copy / f"{name}.cdx.json").write_text((out / f"{name}.cdx.json").read_text().replace("cpython", "cpythoN"))
    assert subprocess.run(["sha256sum", "--check", "--quiet", "checksums.txt"], cwd=copy,
                          capture_output=True).returncode != 0


def frozen_distributions(onedir_names: set[str]) -> dict[str, str]:
    """Distributions of the build environment (pip list) with a file inside the onedir build, by RECORD."""
    found = {}
    for dist in md.distributions():
        for f in dist.files or []:
            path = f.as_posix()
            if path in onedir_names or (path.endswith(".py") and path[:-3] + ".pyc" in onedir_names):
                found[canonical(dist.metadata["Name"])] = dist.version
                break
    return found


@pytest.fixture(scope="module")
def onedir_members(assets):
    out, name = assets
    with tarfile.open(out / f"{name}-onedir.tar.gz") as tar:
        return tar.getmembers()


def test_sbom_validates_and_lists_every_distribution_frozen_inside(assets, onedir_members):
    out, name = assets
    text = (out / f"{name}.cdx.json").read_text()
    bom = json.loads(text)
    release.validate_sbom(text, bom["specVersion"])  # CycloneDX's own JSON schema, strict
    prefix = f"{name}/_internal/"
    inside = {m.name[len(prefix):] for m in onedir_members if m.name.startswith(prefix)}
    expected = frozen_distributions(inside)
    listed = {canonical(c["name"]): c["version"] for c in bom["components"] if c.get("purl", "").startswith("pkg:pypi/")
              and c["name"] != "apache-airflow-core"}
    # PyInstaller's bootloader and runtime hooks are inside the executable, not files of the folder.
    assert set(listed) - set(expected) == {"pyinstaller", "pyinstaller-hooks-contrib"}
    assert {n: listed[n] for n in expected} == expected
    assert {"jinja2", "sqlalchemy", "pyinstaller"} <= set(listed)  # a dependency, and the frozen bootloader
    assert "cyclonedx-bom" not in listed  # in the build environment, not frozen
    assert bom["metadata"]["component"]["name"] == "leoflow"
    others = {c["name"]: c for c in bom["components"] if not c.get("purl", "").startswith("pkg:pypi/")}
    assert others["cpython"]["version"] == ".".join(map(str, sys.version_info[:3]))
    assert others["monaco-editor"]["purl"].startswith("pkg:npm/")
    if Path("/var/lib/dpkg/status").exists():  # the bundled shared libraries, by their Debian package
        assert any(c["purl"].startswith("pkg:deb/debian/") for c in others.values())


def test_onedir_archive_is_deterministic_and_matches_the_build(assets, onedir_members):
    out, name = assets
    bom = json.loads((out / f"{name}.cdx.json").read_text())
    epoch = int(datetime.strptime(bom["metadata"]["timestamp"], "%Y-%m-%dT%H:%M:%SZ")
                .replace(tzinfo=timezone.utc).timestamp())  # the build's SOURCE_DATE_EPOCH
    names = [m.name for m in onedir_members]
    assert names == sorted(names, key=lambda n: n.split("/")) or names == sorted(names)
    assert all(m.name.startswith(f"{name}/") for m in onedir_members)
    assert {(m.mtime, m.uid, m.gid, m.uname, m.gname) for m in onedir_members} == {(epoch, 0, 0, "", "")}
    assert {m.mode for m in onedir_members if not m.issym()} <= {0o755, 0o644}
    program = next(m for m in onedir_members if m.name == f"{name}/leoflow")
    assert program.mode == 0o755
    with tarfile.open(out / f"{name}-onedir.tar.gz") as tar:
        packed = tar.extractfile(program).read()
    assert packed == (release.ONEDIR / "leoflow").read_bytes()


def test_the_executable_is_the_same_bytes_as_another_build_of_this_commit(assets):
    first = os.environ.get("LEOFLOW_TEST_FIRST_BUILD")
    if not first:
        pytest.skip("set LEOFLOW_TEST_FIRST_BUILD to an earlier build's dist/leoflow")
    out, name = assets
    assert hashlib.sha256(Path(first).read_bytes()).hexdigest() == hashlib.sha256((out / name).read_bytes()).hexdigest()


def test_the_executable_says_which_build_it_is(assets, tmp_path):
    out, name = assets
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LEOFLOW_CACHE_DIR": str(tmp_path / "cache")}
    shown = subprocess.run([str(out / name), "version", "--json"], env=env, capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    info = json.loads(shown.stdout)
    bom = json.loads((out / f"{name}.cdx.json").read_text())
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    assert info["version"] == release.version() and info["frozen"] is True
    assert info["build_date"] == bom["metadata"]["timestamp"]  # the commit's time, not the time of building
    assert info["airflow_compat_version"] == "3.2.1"
    assert info["python"] == ".".join(map(str, sys.version_info[:3]))
    if not subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                          capture_output=True, text=True).stdout:
        assert info["commit"] == head  # a clean checkout: the build is of HEAD
