"""The wheel from `make release`, installed into a fresh venv, is the whole product: `leoflow lite`
serves the Airflow UI and its code editor (ADR 28). Runs against LEOFLOW_TEST_RELEASE_DIR."""

import os
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import httpx
import pytest

RELEASE = os.environ.get("LEOFLOW_TEST_RELEASE_DIR")
pytestmark = pytest.mark.skipif(not RELEASE, reason="set LEOFLOW_TEST_RELEASE_DIR (after make release)")


def test_the_wheel_serves_the_ui_and_the_editor(tmp_path):
    wheel = next(Path(RELEASE).glob("leoflow-*-py3-none-any.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "leoflow_ui/dist/index.html" in names and "leoflow_ui/monaco-editor/min/vs/loader.js" in names
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin/pip"), "install", "--quiet", "--disable-pip-version-check", str(wheel)],
                   check=True, timeout=600)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    log = open(tmp_path / "lite.log", "wb")
    proc = subprocess.Popen([str(venv / "bin/leoflow"), "lite", "--home", str(tmp_path / "home"), "--port", str(port)],
                            cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/api/v2/monitor/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "lite.log").read_text()[-3000:]
            time.sleep(0.2)
        page = httpx.get(f"{base}/", timeout=10, follow_redirects=True)
        assert page.status_code == 200 and '<base href="/"' in page.text
        assert "not part of this installation" not in page.text
        loader = httpx.get(f"{base}/static/monaco-editor/0.52.2/min/vs/loader.js", timeout=10)
        assert loader.status_code == 200 and len(loader.content) > 1000
    finally:
        proc.kill()
        proc.wait(10)
