"""Libraries for DAGs, from source: sys.path order (PYTHONPATH, then $LEOFLOW_HOME/site-packages, then
Leoflow's own), `leoflow pip install` into the home, and a requirements.txt installed when lite starts
(once per content; a failure named once and in the import errors of the DAGs that need it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.e2e.lite_process import Lite, free_port

from .libs import LIBRARY_DAG, wheel


def leoflow(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "leoflow", *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def test_pythonpath_comes_before_the_homes_site_packages_which_comes_before_leoflows(tmp_path):
    home, path_dir, dags = tmp_path / "home", tmp_path / "helpers", tmp_path / "dags"
    (home / "site-packages").mkdir(parents=True)
    path_dir.mkdir()
    dags.mkdir()
    (path_dir / "shadowed_helper.py").write_text("WHERE = 'pythonpath'\n")
    (home / "site-packages" / "shadowed_helper.py").write_text("WHERE = 'home'\n")
    (home / "site-packages" / "home_helper.py").write_text("WHERE = 'home'\n")
    # a .pth file in the home's site-packages is read as site-packages' are
    (tmp_path / "pth_target").mkdir()
    (tmp_path / "pth_target" / "pth_helper.py").write_text("WHERE = 'pth'\n")
    (home / "site-packages" / "extra.pth").write_text(str(tmp_path / "pth_target") + "\n")
    (dags / "order.py").write_text(textwrap.dedent('''
        import shadowed_helper, home_helper, pth_helper
        from airflow.sdk import DAG
        with DAG(f"{shadowed_helper.WHERE}_{home_helper.WHERE}_{pth_helper.WHERE}", schedule=None):
            pass
    '''))
    done = leoflow("dags", "list", "--home", str(home), "--dags-folder", str(dags), "-o", "json",
                   env={"PYTHONPATH": str(path_dir)})
    assert done.returncode == 0, done.stderr
    assert [d["dag_id"] for d in json.loads(done.stdout)] == ["pythonpath_home_pth"]
    # without PYTHONPATH the home's copy is the one found
    done = leoflow("dags", "list", "--home", str(home), "--dags-folder", str(dags), "-o", "json",
                   env={"PYTHONPATH": ""})
    assert [d["dag_id"] for d in json.loads(done.stdout)] == ["home_home_pth"], done.stderr


def test_pip_install_puts_a_library_into_the_home_and_refuses_to_shadow_leoflows_own(tmp_path):
    from importlib.metadata import version

    home, wheels = tmp_path / "home", tmp_path / "wheels"
    wheel(wheels, "leoflow-demo-lib", "1.0", requires=("leoflow-demo-dep>=2",))
    wheel(wheels, "leoflow-demo-dep", "2.1")
    wheel(wheels, "leoflow-old-pydantic-user", "1.0", requires=("pydantic<2",))
    index = ["--no-index", "--find-links", str(wheels)]
    done = leoflow("pip", "--home", str(home), "install", *index, "leoflow-demo-lib")
    assert done.returncode == 0, done.stdout + done.stderr
    installed = [ln for ln in done.stdout.splitlines() if ln.startswith("installed ")]
    assert sorted(installed[0][len("installed "):].split(", ")) == ["leoflow-demo-dep==2.1", "leoflow-demo-lib==1.0"]
    assert (home / "site-packages" / "leoflow_demo_lib.py").exists()
    assert (home / "site-packages" / "leoflow_demo_dep.py").exists()
    listed = leoflow("pip", "--home", str(home), "list", "--format", "json")
    assert {p["name"]: p["version"] for p in json.loads(listed.stdout)} == {
        "leoflow-demo-lib": "1.0", "leoflow-demo-dep": "2.1"}, listed.stderr
    again = leoflow("pip", "--home", str(home), "install", *index, "leoflow-demo-lib")
    assert again.returncode == 0 and "nothing to install" in again.stdout, again.stderr
    # a newer version of a library in the home is allowed (it is the user's, not Leoflow's)
    wheel(wheels, "leoflow-demo-dep", "2.2")
    upgraded = leoflow("pip", "--home", str(home), "install", *index, "leoflow-demo-dep==2.2")
    assert upgraded.returncode == 0 and "installed leoflow-demo-dep==2.2" in upgraded.stdout, upgraded.stderr
    # another version of one of Leoflow's own libraries would shadow it: refused, the conflict named
    refused = leoflow("pip", "--home", str(home), "install", *index, "leoflow-old-pydantic-user")
    assert refused.returncode == 1
    assert "leoflow-old-pydantic-user 1.0 depends on pydantic<2" in refused.stderr
    assert f"(Leoflow's own, or the constraints file) pydantic=={version('pydantic')}" in refused.stderr
    assert not (home / "site-packages" / "leoflow_old_pydantic_user.py").exists()
    assert leoflow("pip", "--home", str(home), "install", "--target", "x", "y").returncode == 2
    removed = leoflow("pip", "--home", str(home), "uninstall", "-y", "leoflow-demo-lib")
    assert removed.returncode == 0 and "uninstalled leoflow-demo-lib==1.0" in removed.stdout, removed.stderr
    assert not (home / "site-packages" / "leoflow_demo_lib.py").exists()
    assert not list((home / "site-packages").glob("leoflow_demo_lib-*"))
    assert (home / "site-packages" / "leoflow_demo_dep.py").exists()
    assert leoflow("pip", "--home", str(home), "uninstall", "-y", "leoflow-demo-lib").returncode == 1


def _lite(tmp_path: Path, home: Path, dags: Path, env: dict | None = None) -> Lite:
    return Lite(home, dags, command=[sys.executable, "-m", "leoflow"], env=env).start(timeout=120)


@pytest.mark.timeout(300)
def test_requirements_txt_is_installed_at_start_once_and_a_failure_is_named(tmp_path):
    home, dags, wheels = tmp_path / "home", tmp_path / "dags", tmp_path / "wheels"
    home.mkdir()
    dags.mkdir()
    wheel(wheels, "leoflow-req-lib", "3.0")
    (dags / "requirements.txt").write_text(f"--no-index\n--find-links {wheels}\nleoflow-req-lib==3.0\n")
    (dags / "uses.py").write_text(LIBRARY_DAG.format(module="leoflow_req_lib"))
    lite = _lite(tmp_path, home, dags)
    try:
        run = lite.trigger("uses_leoflow_req_lib")
        assert lite.wait_for_run("uses_leoflow_req_lib", run["dag_run_id"])["state"] == "success"
        xcom = lite.api("GET", f"/api/v2/dags/uses_leoflow_req_lib/dagRuns/{run['dag_run_id']}/taskInstances/use/"
                               "xcomEntries/return_value").json()
        assert xcom["value"] == "3.0"
    finally:
        lite.stop()
    log = lite.output()
    assert f"Installing requirements from {dags / 'requirements.txt'}" in log
    assert "installed in" in log and "leoflow-req-lib==3.0" in log
    # unchanged: nothing installed at the next start
    lite = _lite(tmp_path, home, dags)
    lite.stop()
    assert "unchanged (sha256" in lite.output()

    # a package no index has: one error naming it, and the DAG that imports it says why it is missing
    (dags / "requirements.txt").write_text(f"--no-index\n--find-links {wheels}\nleoflow-req-lib==3.0\n"
                                           "leoflow-missing-lib==1.0\n")
    (dags / "missing.py").write_text(LIBRARY_DAG.format(module="leoflow_missing_lib"))
    lite = _lite(tmp_path, home, dags)
    try:
        errors = lite.wait_for(lambda: lite.api("GET", "/api/v2/importErrors").json()["import_errors"], timeout=30)
        assert [e["filename"] for e in errors] == [str(dags / "missing.py")]
        trace = errors[0]["stack_trace"]
        assert "No module named 'leoflow_missing_lib'" in trace
        assert "The requirements file did not install" in trace and "leoflow-missing-lib==1.0" in trace
        lite.wait_for_dag("uses_leoflow_req_lib")  # what did install still works
    finally:
        lite.stop()
    errors = [ln for ln in lite.output().splitlines() if "ERROR" in ln and "requirements" in ln.lower()]
    assert len(errors) == 1 and "could not install leoflow-missing-lib==1.0" in errors[0], lite.output()


def test_leoflow_requirements_names_the_file_and_a_missing_one_stops_the_start(tmp_path):
    home, dags = tmp_path / "home", tmp_path / "dags"
    home.mkdir()
    dags.mkdir()
    done = subprocess.run([sys.executable, "-m", "leoflow", "lite", "--home", str(home), "--dags-folder", str(dags),
                           "--port", str(free_port())], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "LEOFLOW_REQUIREMENTS": str(tmp_path / "nope.txt")})
    assert done.returncode != 0
    assert f"LEOFLOW_REQUIREMENTS={tmp_path / 'nope.txt'}: no such file" in done.stderr
