"""Libraries and providers from the single executable (LEOFLOW_TEST_BINARY=dist/leoflow; skipped without).

One home for the module, as a user of the executable makes it: `leoflow providers install sqlite` and
`leoflow pip install` run the executable's own pip into `$LEOFLOW_HOME/site-packages`, a requirements.txt
beside the DAG files names a small library from PyPI that the executable does not bundle (humanize), a
helper package comes from PYTHONPATH; then one `leoflow lite` runs a DAG for each, and a
`@task.virtualenv` (made by the Python on PATH: the executable's own sys.executable is Leoflow).
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path

import pytest

from tests.e2e.lite_process import Lite

from .conftest import CONSTRAINTS
from .libs import LIBRARY_DAG, wheel

BINARY = os.environ.get("LEOFLOW_TEST_BINARY")
pytestmark = pytest.mark.skipif(not BINARY, reason="needs LEOFLOW_TEST_BINARY=dist/leoflow")

DAGS = {
    "helpers.py": '''
        from leoflow_test_helpers.text import shout
        from airflow.sdk import DAG, task

        with DAG("uses_pythonpath_helper", schedule=None):
            @task
            def use():
                from leoflow_test_helpers.text import shout as again
                return again("from pythonpath")

            use()
    ''',
    "venv.py": '''
        from airflow.sdk import DAG, task

        with DAG("uses_virtualenv", schedule=None):
            @task.virtualenv(system_site_packages=False)
            def in_venv(n):
                import sys
                return {"n": n * 2, "prefix": sys.prefix, "version": list(sys.version_info[:2])}

            in_venv(21)
    ''',
    "sqlite.py": '''
        from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
        from airflow.providers.sqlite.hooks.sqlite import SqliteHook
        from airflow.sdk import DAG, task

        with DAG("uses_sqlite_provider", schedule=None):
            write = SQLExecuteQueryOperator(
                task_id="write", conn_id="sqlite_test",
                sql=["CREATE TABLE t (word text)", "INSERT INTO t VALUES ('from'), ('the'), ('executable')"])

            @task
            def read():
                rows = SqliteHook(sqlite_conn_id="sqlite_test").get_records("SELECT word FROM t ORDER BY rowid")
                return [list(row) for row in rows]

            write >> read()
    ''',
}


def run(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([os.path.abspath(BINARY), *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("from-executable")
    home, dags, helpers = root / "home", root / "dags", root / "helpers"
    for folder in (home, dags, helpers / "leoflow_test_helpers"):
        folder.mkdir(parents=True)
    (helpers / "leoflow_test_helpers" / "__init__.py").write_text("")
    (helpers / "leoflow_test_helpers" / "text.py").write_text("def shout(s):\n    return s.upper() + '!'\n")
    installed = run("providers", "install", "sqlite", "smtp", "--home", str(home), "-c", str(CONSTRAINTS), timeout=600)
    (dags / "requirements.txt").write_text("humanize\n")
    (dags / "humanize_dag.py").write_text(LIBRARY_DAG.format(module="humanize").replace(
        "return again.VERSION", "return again.intcomma(1234567)"))
    for name, text in DAGS.items():
        (dags / name).write_text(textwrap.dedent(text))
    env = {"PYTHONPATH": str(helpers), "AIRFLOW_CONN_SQLITE_TEST": json.dumps(
        {"conn_type": "sqlite", "host": str(root / "data.db")})}
    lite = Lite(home, dags, command=[os.path.abspath(BINARY)], env=env)
    try:
        lite.start(timeout=240)
    except RuntimeError:
        pytest.fail(f"providers install: {installed.stdout[-2000:]}{installed.stderr[-2000:]}\n")
    lite.installed = installed
    yield lite
    lite.stop()


def _result(lite: Lite, dag_id: str, task_id: str):
    run_ = lite.trigger(dag_id)
    done = lite.wait_for_run(dag_id, run_["dag_run_id"], timeout=120)
    base = f"/api/v2/dags/{dag_id}/dagRuns/{run_['dag_run_id']}/taskInstances/{task_id}"
    if done["state"] != "success":
        log = lite.api("GET", f"{base}/logs/1", headers={"Accept": "application/x-ndjson"}).text
        pytest.fail(f"{dag_id}: {done['state']}\n{log[-3000:]}\n{lite.output()}")
    return lite.api("GET", f"{base}/xcomEntries/return_value").json()["value"]


def test_providers_install_puts_the_provider_into_the_homes_site_packages(world):
    assert world.installed.returncode == 0, world.installed.stdout + world.installed.stderr
    site = world.home / "site-packages"
    assert f"into {site}" in world.installed.stdout
    assert "installed apache-airflow-providers-sqlite==" in world.installed.stdout
    assert (site / "airflow" / "providers" / "sqlite").is_dir()
    assert not (site / "airflow" / "__init__.py").exists()  # Leoflow stays the `airflow` package
    # the executable's own libraries are not installed again beside it
    assert not list(site.glob("sqlalchemy*")) and not list(site.glob("jinja2*")) and not list(site.glob("requests*"))
    listed = run("providers", "list", "--home", str(world.home), "-o", "json")
    names = {p["package_name"] for p in json.loads(listed.stdout)}
    assert {"apache-airflow-providers-sqlite", "apache-airflow-providers-common-sql"} <= names, listed.stderr
    body = world.api("GET", "/api/v2/providers").json()
    assert "apache-airflow-providers-sqlite" in {p["package_name"] for p in body["providers"]}


def test_a_provider_dag_runs_after_providers_install(world):
    assert _result(world, "uses_sqlite_provider", "read") == [["from"], ["the"], ["executable"]]


def test_a_library_from_requirements_txt_is_installed_at_start(world):
    assert _result(world, "uses_humanize", "use") == "1,234,567"
    assert f"Installing requirements from {world.dags / 'requirements.txt'}" in world.output()
    assert (world.home / "site-packages" / "humanize").is_dir()


def test_a_helper_package_from_pythonpath(world):
    assert _result(world, "uses_pythonpath_helper", "use") == "FROM PYTHONPATH!"


def test_task_virtualenv_is_made_by_a_python_on_path(world):
    value = _result(world, "uses_virtualenv", "in_venv")
    assert value["n"] == 42 and "leoflow-venv-" in value["prefix"]


def test_leoflow_pip_installs_for_the_embedded_python_and_refuses_to_shadow_its_libraries(tmp_path):
    wheels = tmp_path / "wheels"
    wheel(wheels, "leoflow-exe-lib", "1.5")
    wheel(wheels, "leoflow-exe-old-sqlalchemy", "1.0", requires=("sqlalchemy<2",))
    index = ["--no-index", "--find-links", str(wheels)]
    done = run("pip", "--home", str(tmp_path / "home"), "install", *index, "leoflow-exe-lib")
    assert done.returncode == 0 and "installed leoflow-exe-lib==1.5" in done.stdout, done.stdout + done.stderr
    assert (tmp_path / "home" / "site-packages" / "leoflow_exe_lib.py").exists()
    refused = run("pip", "--home", str(tmp_path / "home"), "install", *index, "leoflow-exe-old-sqlalchemy")
    assert refused.returncode == 1 and "depends on sqlalchemy<2" in refused.stderr, refused.stderr
    version = run("_pip", "--version")  # the bundled pip, run by the embedded interpreter
    assert version.returncode == 0 and "(python 3." in version.stdout, version.stderr


CHROMIUM = os.environ.get("LEOFLOW_TEST_CHROMIUM", "/usr/bin/chromium")


def test_the_connection_form_offers_an_installed_providers_type_and_its_fields(world):
    """Airflow's own UI, in Debian's Chromium: the SMTP provider installed into the home brings its
    connection type and its extra fields into the Add Connection form; what is typed there is saved."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("LEOFLOW_REQUIRE_SERVICES"):
            pytest.fail(f"no Chromium at {CHROMIUM}")
        pytest.skip(f"no Chromium at {CHROMIUM}")
    from playwright.sync_api import expect, sync_playwright

    from tests.e2e.lite_process import PASSWORD

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(20000)
            page.goto(world.base + "/")
            page.wait_for_url("**/api/v2/auth/login?next=*")
            page.fill("#username", "admin")
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(world.base + "/")
            page.goto(world.base + "/connections")
            page.get_by_role("button", name="Add Connection").click()
            dialog = page.locator("[role=dialog][data-state=open]").filter(has_text="Add Connection")
            dialog.locator("input[name=connection_id]").fill("smtp_from_form")
            dialog.get_by_role("combobox").first.click()
            page.keyboard.insert_text("SMTP")
            page.keyboard.press("Enter")
            dialog.locator("input[name=host]").fill("mail.example.internal")
            dialog.get_by_role("button", name="Extra Fields", exact=True).click()  # the provider's own fields
            from_email = dialog.locator("input[name=element_from_email]")
            expect(from_email).to_be_visible()
            expect(dialog.get_by_text("From email", exact=True)).to_be_visible()
            expect(dialog.get_by_text("Disable TLS", exact=True)).to_be_visible()
            from_email.fill("dags@example.internal")
            dialog.get_by_role("button", name="Save").click()
            expect(dialog).to_be_hidden()
        finally:
            browser.close()
    saved = world.api("GET", "/api/v2/connections/smtp_from_form").json()
    assert saved["conn_type"] == "smtp" and saved["host"] == "mail.example.internal"
    assert json.loads(saved["extra"])["from_email"] == "dags@example.internal"
