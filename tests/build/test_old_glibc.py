"""The Linux executable built by build/oldglibc.sh runs on Debian 11 (glibc 2.31), in a real chroot.

LEOFLOW_TEST_OLDGLIBC_BINARY names the file (dist/oldglibc/leoflow, its onedir beside it);
LEOFLOW_TEST_BULLSEYE_ROOTFS a `debootstrap --variant=minbase bullseye` tree (default: the one
build/oldglibc.sh caches). Needs root, for chroot and mounts (ADR 28).
"""

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
BINARY = os.environ.get("LEOFLOW_TEST_OLDGLIBC_BINARY")
ROOTFS = Path(os.environ.get("LEOFLOW_TEST_BULLSEYE_ROOTFS",
                             Path.home() / ".cache/leoflow-build/bullseye-minbase"))
# The newest glibc symbol a file may need: 2.31 for the Debian 11 build, 2.28 for the workflow's manylinux.
GLIBC_MAX = os.environ.get("LEOFLOW_TEST_GLIBC_MAX", "2.31")
pytestmark = pytest.mark.skipif(not BINARY, reason="set LEOFLOW_TEST_OLDGLIBC_BINARY (after build/oldglibc.sh)")
sys.path.insert(0, str(ROOT / "build"))
import glibc_needs  # noqa: E402
import smoke  # noqa: E402

sys.path.pop(0)


def test_no_file_of_the_build_needs_a_glibc_newer_than_2_31_or_the_limit_given():
    found = glibc_needs.needs(Path(BINARY).parent / "leoflow-onedir")
    assert len(found) > 50  # the interpreter, the extensions, the bundled libraries
    newest = max(found.values(), key=glibc_needs._key)
    assert glibc_needs._key(newest) <= glibc_needs._key(GLIBC_MAX), (newest, GLIBC_MAX)


@pytest.fixture
def chroot():
    """A private copy of nothing: the binary goes into the rootfs, with /proc and /dev bound."""
    assert (ROOTFS / "bin/sh").exists(), f"no Debian 11 rootfs at {ROOTFS}"
    libc = subprocess.run(["chroot", str(ROOTFS), "ldd", "--version"], capture_output=True, text=True).stdout
    assert "2.31" in libc.splitlines()[0], libc
    place = ROOTFS / "opt" / f"leoflow-test-{os.getpid()}"
    place.mkdir(parents=True)
    shutil.copy2(BINARY, place / "leoflow")
    mounted = []
    for m in ("proc", "dev"):
        if not os.path.ismount(ROOTFS / m):
            subprocess.run(["mount", "--bind", f"/{m}", str(ROOTFS / m)], check=True)
            mounted.append(ROOTFS / m)
    try:
        yield place
    finally:
        for m in mounted:
            subprocess.run(["umount", str(m)])
        shutil.rmtree(place, ignore_errors=True)


def run_inside(place: Path, *args: str, **kw):
    inside = "/" + str(place.relative_to(ROOTFS))
    env = ["env", "-i", f"HOME={inside}", "PATH=/usr/bin:/bin", "LANG=C.UTF-8"]
    return [ "chroot", str(ROOTFS), *env, f"{inside}/leoflow", *args], inside


def test_version_lite_and_a_dag_run_on_debian_11(chroot):
    cmd, inside = run_inside(chroot, "version")
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip(), out.stderr

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd, inside = run_inside(chroot, "lite", "--home", f"{inside}/home", "--port", str(port))
    log = open(chroot / "lite.log", "wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/api/v2/monitor/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, (chroot / "lite.log").read_text()
            time.sleep(0.2)
        else:
            pytest.fail("lite never answered health: " + (chroot / "lite.log").read_text()[-3000:])
        password_file = chroot / "home" / "admin-password.txt"
        while not password_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        token = httpx.post(f"{base}/auth/token", json={"username": "admin",
                                                        "password": password_file.read_text().strip()}).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        while httpx.get(f"{base}/api/v2/dags/example_etl", headers=headers).status_code != 200:
            assert time.monotonic() < deadline, "example_etl never parsed"
            time.sleep(0.2)
        run = httpx.post(f"{base}/api/v2/dags/example_etl/dagRuns", headers=headers,
                         json={"logical_date": None}).json()
        state = None
        while time.monotonic() < deadline:
            state = httpx.get(f"{base}/api/v2/dags/example_etl/dagRuns/{run['dag_run_id']}", headers=headers).json()["state"]
            if state in ("success", "failed"):
                break
            time.sleep(0.2)
        assert state == "success", (chroot / "lite.log").read_text()[-3000:]

        # TLS from the bundled ssl and OpenSSL: an https request from a task to a server of this test,
        # and a default context that finds CA certificates in a minbase without ca-certificates
        # (the bundled certifi's, leoflow.cli.ca_bundle).
        def api(method, path, **kw):
            return httpx.request(method, f"{base}{path}", headers=headers, timeout=10, **kw)

        smoke.results.clear()
        tls = smoke.TlsServer(chroot / "tls")
        try:
            smoke.check_tls(api, chroot / "home", tls, f"{inside}/tls/ca.pem")
        finally:
            tls.close()
        assert all(ok for _, ok, _ in smoke.results), (smoke.results, (chroot / "lite.log").read_text()[-3000:])
    finally:
        proc.kill()
        proc.wait(10)
