"""podman as `make image` runs it: vfs storage and containers.conf's ulimits (build/image/containers.conf).

The image under test is LEOFLOW_TEST_IMAGE (CI: after `make binary image`); without it the image tests
skip, since building it needs the onedir build.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IMAGE = os.environ.get("LEOFLOW_TEST_IMAGE", "")


def podman_env() -> dict[str, str]:
    return {**os.environ, "CONTAINERS_CONF": os.environ.get("CONTAINERS_CONF")
            or str(ROOT / "build/image/containers.conf")}


def podman(*args: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess:
    """One podman command; its output in the failure message when it fails."""
    command = ["podman", "--storage-driver", "vfs", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=podman_env())
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(command)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done


def require_image() -> str:
    if not IMAGE:
        pytest.skip("LEOFLOW_TEST_IMAGE is not set (make binary image, then LEOFLOW_TEST_IMAGE=localhost/leoflow:latest)")
    if shutil.which("podman") is None:
        pytest.fail("LEOFLOW_TEST_IMAGE is set but podman is not installed (apt-get install podman runc)")
    return IMAGE


class Container:
    """A detached container of the image, removed (with its anonymous volumes) on exit."""

    def __init__(self, image: str, *args: str, options: tuple[str, ...] = ()):
        self.name = "leoflow-test-" + uuid.uuid4().hex[:10]
        # podman asks systemd for a timer to run the image's HEALTHCHECK, and says so on stderr where there
        # is none (these machines): the tests run it themselves with `podman healthcheck run`.
        self.run_args = ["run", "-d", "--name", self.name, *options, image, *args]

    def __enter__(self) -> "Container":
        podman(*self.run_args)
        return self

    def __exit__(self, *exc) -> None:
        podman("rm", "-f", "-v", "-t", "5", self.name, check=False, timeout=60)

    def logs(self) -> str:
        done = podman("logs", self.name, check=False)
        return done.stdout + done.stderr

    def state(self) -> dict:
        import json

        return json.loads(podman("inspect", self.name, "--format", "{{json .State}}").stdout)
