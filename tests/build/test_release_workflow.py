"""The release workflow cannot run here (no GitHub): it is checked against GitHub's workflow schema
and by actionlint, from the release tools venv that `make release` makes (ADR 28)."""

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github/workflows/release.yml"
TOOLS = ROOT / "build/work/release-tools/bin"


@pytest.fixture
def tool():
    def find(name: str) -> str:
        path = TOOLS / name
        if not path.exists():
            if os.environ.get("LEOFLOW_TEST_RELEASE_DIR"):  # CI, after make release: must be there
                pytest.fail(f"{path} missing: make release installs it")
            pytest.skip(f"{path} missing: run make release (or make {TOOLS.parent.relative_to(ROOT)}/.installed)")
        return str(path)

    return find


def test_workflow_matches_githubs_schema(tool):
    out = subprocess.run([tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr


def test_actionlint_finds_nothing(tool):
    # shellcheck is not on these machines; actionlint's own checks (expressions, needs, runners,
    # action versions, permissions) still run.
    out = subprocess.run([tool("actionlint"), "-shellcheck=", "-pyflakes=", str(WORKFLOW)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_workflow_does_what_the_release_promises():
    text = WORKFLOW.read_text()
    for target in ("linux-x86_64", "linux-aarch64", "macos-arm64", "macos-x86_64", "windows-x86_64"):
        assert f"target: {target}" in text
    assert "manylinux_2_28" in text  # glibc 2.28 (RHEL 8) for the Linux builds
    assert "make release" in text and "cosign sign-blob" in text and "attest-build-provenance" in text
    assert "--draft=true" in text and "if: failure()" in text  # a failed install takes the release back
    assert "id-token: write" in text
    assert "gh-action-pypi-publish" in text and "install.sh" in text
