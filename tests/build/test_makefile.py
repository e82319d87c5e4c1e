"""`make lite` installs only what lite needs, step by step, and takes PORT=; `make test` and `make binary` add the
test and build tools; a Python older than 3.11 (or without venv) stops at once with what to do. Checked with
make's dry run (`-n`) on a venv that does not exist, and one real run with an unusable interpreter."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
# Run under `make test`, a make inherits MAKEFLAGS and MAKELEVEL (and prints "Entering directory" lines).
ENV = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES")}


def _dry(target: str, tmp_path, *extra) -> list[str]:
    proc = subprocess.run(["make", "--no-print-directory", "-n", target, f"VENV={tmp_path / 'venv'}", *extra],
                          cwd=ROOT, capture_output=True, text=True, timeout=60, env=ENV)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


def test_make_lite_installs_the_runtime_only_and_takes_port(tmp_path):
    pip = f"{tmp_path / 'venv'}/bin/pip --disable-pip-version-check install"
    lines = _dry("lite", tmp_path, "PORT=9999")
    installs = [line for line in lines if line.startswith(pip)]
    assert installs == [f"{pip} --upgrade pip", f"{pip} -e ."]  # no '.[test,build]'
    assert [line for line in lines if line.startswith("echo ")] == [
        f'echo "==> Creating {tmp_path / "venv"} with $(python3 --version)"',
        f'echo "==> Upgrading pip in {tmp_path / "venv"}"',
        'echo "==> Installing Leoflow and what lite needs to run"']
    assert lines[-1].endswith(f"{tmp_path / 'venv'}/bin/leoflow lite --dags-folder dags --port 9999")
    assert not any("--quiet" in line for line in lines)
    assert _dry("lite", tmp_path)[-1].endswith("bin/leoflow lite --dags-folder dags")  # no PORT: lite's default


def test_make_test_and_binary_install_everything(tmp_path):
    pip = f"{tmp_path / 'venv'}/bin/pip --disable-pip-version-check install"
    for target in ("test", "binary"):
        installs = [line for line in _dry(target, tmp_path) if line.startswith(pip)]
        assert installs == [f"{pip} --upgrade pip", f"{pip} -e .", f"{pip} -e '.[test,build]'"], target


def test_an_old_python_stops_make_lite_with_what_to_do(tmp_path):
    old = tmp_path / "python3.10"
    old.write_text("#!/bin/sh\nexec python3 -c 'import sys; sys.exit(1)'\n")  # as `sys.version_info < (3, 11)`
    old.chmod(0o755)
    proc = subprocess.run(["make", "--no-print-directory", "lite", f"PYTHON={old}", f"VENV={tmp_path / 'venv'}"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60, env=ENV)
    assert proc.returncode != 0
    assert ("Leoflow needs Python >= 3.11 with its venv module (Debian: apt-get install python3-venv); give one with "
            "PYTHON=...") in proc.stderr
    assert not (tmp_path / "venv").exists()


def test_pyproject_keeps_test_and_build_tools_out_of_the_runtime():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = " ".join(project["dependencies"])
    for tool in ("pytest", "pyinstaller", "playwright", "schemathesis"):
        assert tool not in runtime
    assert "pyinstaller" in " ".join(project["optional-dependencies"]["build"])
    assert "pytest" in " ".join(project["optional-dependencies"]["test"])
