"""The container image `make image` builds: what it is, and that each of its roles starts in it.

Real podman, the machine's Postgres (a database of the test's own); the server and lite run with the
host's network so the test reaches them on loopback, as a task pod reaches its server.
"""

from __future__ import annotations

import json
import time

import httpx
import pytest

from tests.e2e.lite_process import free_port
from tests.services import postgres_database_url

from .podman import Container, podman, require_image

UID = "50000"


@pytest.fixture(scope="module")
def image() -> str:
    return require_image()


def _inspect(image: str) -> dict:
    return json.loads(podman("image", "inspect", image).stdout)[0]


def _wait_for(url: str, container: Container, *, status: int = 200, timeout: float = 60.0) -> httpx.Response:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = httpx.get(url, timeout=2.0)
            if last.status_code == status:
                return last
        except httpx.HTTPError as exc:
            last = exc
        if not container.state().get("Running"):
            break
        time.sleep(0.3)
    raise AssertionError(f"{url} never answered {status} (last: {last!r}); container log:\n{container.logs()[-4000:]}")


def test_version(image):
    from leoflow import __version__

    done = podman("run", "--rm", "--no-healthcheck", image, "version")
    assert done.stdout.split()[0] == __version__ and "built" in done.stdout, done.stdout


def test_image_config_non_root_volume_healthcheck_entrypoint(image):
    inspected = _inspect(image)
    config = inspected["Config"]
    assert config["User"] == f"{UID}:0"
    assert config["Entrypoint"] == ["/usr/local/bin/leoflow"]
    assert "/var/lib/leoflow" in config["Volumes"]
    assert inspected["Healthcheck"]["Test"] == ["CMD", "/usr/local/bin/leoflow", "healthcheck"]
    assert any(e == "LEOFLOW_HOME=/var/lib/leoflow" for e in config["Env"])
    # The onedir build is unpacked in the image: the entrypoint is the folder build's executable,
    # not the self-extracting file that unpacks into a cache on first start.
    done = podman("run", "--rm", "--no-healthcheck", "--entrypoint", "/bin/bash", image, "-c",
                  "readlink /usr/local/bin/leoflow; ls /opt/leoflow/_internal | head -1; id -u; id -g; "
                  "stat -c '%u %a' /var/lib/leoflow; ls $HOME/.cache 2>/dev/null | wc -l")
    target, internal, uid, gid, home, cache = done.stdout.split("\n")[:6]
    assert target == "/opt/leoflow/leoflow" and internal, done.stdout
    assert (uid, gid) == (UID, "0")
    assert home == f"{UID} 775"  # group 0 may write: clusters that pick a random uid keep gid 0
    assert cache == "0"


def test_tasks_get_a_shell_tools_certificates_and_time_zones(image, tmp_path):
    """Task pods run BashOperator commands and Python that expects a normal system: prove it in the image."""
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "image_check.py").write_text('''
import datetime
from airflow.sdk import DAG
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.python import PythonOperator


def system_check():
    import ssl
    import zoneinfo
    import getpass
    assert ssl.create_default_context().cert_store_stats()["x509_ca"] > 50, "no CA certificates"
    paris = datetime.datetime(2026, 7, 1, tzinfo=zoneinfo.ZoneInfo("Europe/Paris"))
    assert paris.utcoffset() == datetime.timedelta(hours=2), paris
    assert getpass.getuser() == "leoflow"


with DAG("image_check", schedule=None, start_date=datetime.datetime(2026, 1, 1)):
    BashOperator(task_id="shell", bash_command="set -eu; sleep 0.1; date -u +%Y | grep -q 20; "
                 "echo x | sed s/x/y/ | grep -q y; test \\"$(id -u)\\" = 50000; printf ok")
    PythonOperator(task_id="system", python_callable=system_check)
''')
    done = podman("run", "--rm", "--no-healthcheck", "-v", f"{dags}:/dags:ro", image,
                  "dags", "test", "image_check", "--dags-folder", "/dags", "-o", "json", check=False, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "shell" in done.stdout and "system" in done.stdout


def test_lite_answers_health(image):
    port = free_port()
    with Container(image, "lite", options=("--network", "host", "-e", f"LEOFLOW_PORT={port}")) as lite:
        body = _wait_for(f"http://127.0.0.1:{port}/api/v2/monitor/health", lite).json()
        assert {body[k]["status"] for k in ("metadatabase", "scheduler", "dag_processor")} == {"healthy"}
        # The image's HEALTHCHECK, as podman runs it.
        assert podman("healthcheck", "run", lite.name, check=False).returncode == 0, lite.logs()[-2000:]
        top = podman("top", lite.name, "user", "huser", "args").stdout
        assert "root" not in top.split("\n", 1)[1], top  # every process of the container is non-root


@pytest.mark.postgres
def test_migrate_then_server_on_postgres_is_ready(image):
    from cryptography.fernet import Fernet

    port = free_port()
    with postgres_database_url() as url:
        env = ["-e", f"LEOFLOW_DATABASE_URL={url}", "-e", f"LEOFLOW_FERNET_KEY={Fernet.generate_key().decode()}",
               "-e", "LEOFLOW_SECRET_KEY=image-test-secret-key-0123456789abcdef", "-e", f"LEOFLOW_PORT={port}",
               "-e", "LEOFLOW_ADMIN_PASSWORD=image-test-password", "-e", "LEOFLOW_SHUTDOWN_GRACE_PERIOD=2"]
        # The migrate Job of the chart, then a server replica (which waits for the schema, never migrates).
        migrated = podman("run", "--rm", "--no-healthcheck", "--network", "host", *env, image, "migrate")
        assert "migrated to" in migrated.stdout, migrated.stdout
        # As the chart runs it: read-only root, the home a volume, /tmp a tmpfs, no capabilities.
        as_in_chart = ("--read-only", "--read-only-tmpfs=false", "--tmpfs", "/tmp:rw,mode=1777", "--cap-drop", "ALL",
                       "--security-opt", "no-new-privileges")
        with Container(image, "server", options=("--network", "host", *as_in_chart, *env)) as server:
            ready = _wait_for(f"http://127.0.0.1:{port}/readyz", server).json()
            assert ready["checks"] == {"database": "ok", "schema": "ok", "process": "ok"}
            assert httpx.get(f"http://127.0.0.1:{port}/livez").status_code == 200
            assert podman("healthcheck", "run", server.name, check=False).returncode == 0, server.logs()[-2000:]
            # `healthcheck --ready` is what a compose file's depends_on would wait for.
            ready_check = podman("exec", server.name, "leoflow", "healthcheck", "--ready", check=False)
            assert ready_check.returncode == 0, ready_check.stderr
            token = httpx.post(f"http://127.0.0.1:{port}/auth/token",
                               json={"username": "admin", "password": "image-test-password"}).json()
            assert token.get("access_token"), token
            # SIGTERM (what Kubernetes sends): the server drains and exits 0.
            podman("stop", "-t", "20", server.name, timeout=40)
            state = server.state()
            assert state["ExitCode"] == 0, server.logs()[-3000:]
