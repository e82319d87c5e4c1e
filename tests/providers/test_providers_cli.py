"""`leoflow providers install|list` as a user runs them: real pip, a real index, a folder of their own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from .conftest import CONSTRAINTS


def leoflow(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "leoflow", *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


@pytest.mark.timeout(600)
def test_install_into_a_folder_then_list_and_import(tmp_path, everyday_site):
    # everyday_site first: its downloads are in pip's cache, so this install reads no wheel twice
    target = tmp_path / "site"
    done = leoflow("providers", "install", "sqlite", "--target", str(target), "-c", str(CONSTRAINTS))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "installed apache-airflow-providers-sqlite==4.3.4" in done.stdout
    assert "installed apache-airflow-providers-common-sql==1.34.0" in done.stdout  # the provider it needs
    assert not list(target.glob("apache_airflow-*")) and not list(target.glob("apache_airflow_core-*"))
    assert not (target / "airflow" / "__init__.py").exists()  # Leoflow stays the `airflow` package
    listed = leoflow("providers", "list", "-o", "json", env={"PYTHONPATH": str(target)})
    assert listed.returncode == 0, listed.stderr
    names = {p["package_name"]: p["version"] for p in json.loads(listed.stdout)}
    assert names["apache-airflow-providers-sqlite"] == "4.3.4"
    assert names["apache-airflow-providers-standard"] == "1.12.3"  # Leoflow's own, always there
    probe = subprocess.run([sys.executable, "-c", "from leoflow.sdk import importhook; importhook.install(); "
                            "from airflow.providers.sqlite.hooks.sqlite import SqliteHook; "
                            "from airflow.sdk import Connection; "
                            "c = Connection(conn_id='x', conn_type='sqlite', host=':memory:'); "
                            "print(type(c.get_hook()).__name__, SqliteHook(sqlite_conn_id='x').conn_name_attr)"],
                           capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(target)})
    assert probe.stdout.split() == ["SqliteHook", "sqlite_conn_id"], probe.stderr


@pytest.mark.parametrize("name", ["apache-airflow", "apache-airflow-core==3.2.1", "apache_airflow_task_sdk"])
def test_airflow_itself_is_refused(tmp_path, name):
    done = leoflow("providers", "install", name, "--target", str(tmp_path / "site"))
    assert done.returncode == 2
    assert "refusing to install apache-airflow" in done.stderr and "Leoflow is the Airflow" in done.stderr
    assert not (tmp_path / "site").exists()


def test_a_library_or_a_bad_name_is_refused(tmp_path):
    done = leoflow("providers", "install", "requests", "--target", str(tmp_path / "site"))
    assert done.returncode == 2 and "apache-airflow-providers-requests" in done.stderr
    done = leoflow("providers", "install", "postgres>>1", "--target", str(tmp_path / "site"))
    assert done.returncode == 2 and "is not a provider name or requirement" in done.stderr


def _provider_wheel(folder, requires: str):
    """A provider wheel of the test's own whose requirement contradicts one of Leoflow's libraries."""
    name, version = "apache_airflow_providers_leoflow_conflict", "1.0.0"
    dist = f"{name}-{version}.dist-info"
    files = {
        "airflow/providers/leoflow_conflict/__init__.py": "",
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: apache-airflow-providers-leoflow-conflict\n"
                            f"Version: {version}\nRequires-Dist: apache-airflow>=2.11.0\nRequires-Dist: {requires}\n",
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    files[f"{dist}/RECORD"] = "".join(f"{n},,\n" for n in [*files, f"{dist}/RECORD"])
    path = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        for member, text in files.items():
            zf.writestr(member, text)
    return path


@pytest.mark.timeout(300)
def test_a_provider_whose_requirements_conflict_with_leoflows_is_refused(tmp_path):
    wheel = _provider_wheel(tmp_path, "sqlalchemy<2")
    target = tmp_path / "site"
    done = leoflow("providers", "install", f"apache-airflow-providers-leoflow-conflict @ {wheel.as_uri()}",
                   "--target", str(target))
    assert done.returncode == 2, done.stdout + done.stderr
    from importlib.metadata import version

    assert "beside Leoflow" in done.stderr
    assert "apache-airflow-providers-leoflow-conflict 1.0.0 depends on sqlalchemy<2" in done.stderr
    assert f"(Leoflow's own, or the constraints file) sqlalchemy=={version('sqlalchemy')}" in done.stderr
    assert not (target / "airflow").exists()


@pytest.mark.timeout(600)
def test_install_into_the_running_venv_adds_only_what_is_missing(tmp_path):
    """From source without --target: the venv Leoflow runs in gets the provider, beside Leoflow's own
    libraries (seen as installed: not installed again)."""
    import sysconfig

    venv = tmp_path / "venv"
    subprocess.run([sys._base_executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    # Leoflow and its libraries come from this checkout's venv, as if installed into the new one
    app = Path(__file__).resolve().parents[2] / "app"
    (site / "leoflow-parent.pth").write_text(f"{app}\n{sysconfig.get_paths()['purelib']}\n")
    done = subprocess.run([str(python), "-m", "leoflow", "providers", "install", "sqlite", "-c", str(CONSTRAINTS)],
                          capture_output=True, text=True, timeout=500)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"into {venv}" in done.stdout and "installed apache-airflow-providers-sqlite==" in done.stdout
    assert (site / "airflow" / "providers" / "sqlite" / "hooks" / "sqlite.py").exists()
    assert not (site / "airflow" / "__init__.py").exists()
    # Leoflow's own libraries stay where they are, at their versions
    assert not list(site.glob("sqlalchemy*")) and not list(site.glob("pydantic*"))
    probe = subprocess.run([str(python), "-c", "from leoflow.sdk import importhook; importhook.install(); "
                            "from airflow.providers.sqlite.hooks.sqlite import SqliteHook; print(SqliteHook.conn_type)"],
                           capture_output=True, text=True, timeout=60)
    assert probe.stdout.strip() == "sqlite", probe.stderr


def test_links_lists_the_extra_link_classes_the_providers_declare(cloud_site):
    listed = leoflow("providers", "links", "-o", "json", env={"PYTHONPATH": str(cloud_site)})
    assert listed.returncode == 0, listed.stderr
    names = [row["extra_link_class_name"] for row in json.loads(listed.stdout)]
    assert names == sorted(names) and len(names) == len(set(names))
    assert "airflow.providers.amazon.aws.links.athena.AthenaQueryResultsLink" in names  # the provider's info
    probe = subprocess.run([sys.executable, "-c", "from leoflow.sdk import importhook; importhook.install(); "
                            "from airflow.providers_manager import ProvidersManager; "
                            "print(len(ProvidersManager().extra_links_class_names))"],
                           capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(cloud_site)})
    assert probe.stdout.strip() == str(len(names)), probe.stderr
