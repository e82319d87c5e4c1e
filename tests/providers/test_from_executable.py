"""Libraries and providers from the single executable (LEOFLOW_TEST_BINARY=dist/leoflow; skipped without).

One home for the module, as a user of the executable makes it: `leoflow providers install postgres mysql
http ssh sftp redis sqlite smtp` and `leoflow pip install` run the executable's own pip into
`$LEOFLOW_HOME/site-packages` (mysqlclient, a source distribution only, compiled by the Python on PATH), a
requirements.txt beside the DAG files names a small library from PyPI that the executable does not bundle
(humanize), a helper package comes from PYTHONPATH; then one `leoflow lite` runs the end-to-end provider DAGs
of test_provider_dags.py (provider_dags.py: the same DAGs, Connections and checks) against the same real
servers, a DAG for each library, and a `@task.virtualenv` (made by the Python on PATH: the executable's own
sys.executable is Leoflow).
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.e2e.lite_process import Lite
from tests.services import postgres_database_url, redis_url

from . import provider_dags as p
from .conftest import CONSTRAINTS, EVERYDAY, SCORE_SCRIPT
from .libs import LIBRARY_DAG, sdist, wheel
from .servers import HttpServer, SmtpServer, SshServer, mariadb_database

BINARY = os.environ.get("LEOFLOW_TEST_BINARY")
# the module's first test also waits for `providers install` (a C extension compiled among them)
pytestmark = [pytest.mark.skipif(not BINARY, reason="needs LEOFLOW_TEST_BINARY=dist/leoflow"),
              pytest.mark.timeout(900)]

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
}

# The import score's own script, run inside a task of the executable: every hook/operator/sensor/trigger
# module of the installed providers imported by the embedded interpreter, beside its frozen libraries.
IMPORT_SCORE_DAG = '''
from airflow.sdk import DAG, task

with DAG("provider_import_score", schedule=None):
    @task
    def score():
        import contextlib, io, json, runpy, sys
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            runpy.run_path({script!r})["main"]({names!r})
        return {{"frozen": getattr(sys, "frozen", False),
                "scores": [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{{")]}}

    score()
'''


def run(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([os.path.abspath(BINARY), *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


# The providers of the end-to-end DAGs, installed once for the module as a user of the executable would.
PROVIDERS = ("postgres", "mysql", "http", "ssh", "sftp", "redis", "sqlite", "smtp", "common-sql")


def _server(stack: ExitStack, servers: dict, name: str, make):
    """Enter one real server for the module; one that is unavailable here skips only the tests needing it."""
    try:
        servers[name] = stack.enter_context(make())
    except pytest.skip.Exception as exc:
        servers[name] = None
        servers.setdefault("skipped", {})[name] = str(exc)


def needs(world, *names):
    for name in names:
        if world.servers[name] is None:
            pytest.skip(world.servers["skipped"][name])
    return [world.servers[name] for name in names]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("from-executable")
    home, dags, helpers, files = root / "home", root / "dags", root / "helpers", root / "files"
    for folder in (home, dags, helpers / "leoflow_test_helpers", files):
        folder.mkdir(parents=True)
    (helpers / "leoflow_test_helpers" / "__init__.py").write_text("")
    (helpers / "leoflow_test_helpers" / "text.py").write_text("def shout(s):\n    return s.upper() + '!'\n")
    installed = run("providers", "install", *PROVIDERS, "--home", str(home), "-c", str(CONSTRAINTS), timeout=900)
    (dags / "requirements.txt").write_text("humanize\n")
    (dags / "humanize_dag.py").write_text(LIBRARY_DAG.format(module="humanize").replace(
        "return again.VERSION", "return again.intcomma(1234567)"))
    for name, text in {**DAGS, **p.DAG_FILES}.items():
        (dags / name).write_text(textwrap.dedent(text))
    (dags / "import_score.py").write_text(IMPORT_SCORE_DAG.format(script=str(SCORE_SCRIPT), names=list(EVERYDAY)))
    with ExitStack() as stack:
        servers: dict = {"files": files}
        _server(stack, servers, "pg_url", postgres_database_url)
        _server(stack, servers, "maria_db", mariadb_database)
        _server(stack, servers, "http", lambda: HttpServer(ready_after=2))
        _server(stack, servers, "smtp", SmtpServer)
        _server(stack, servers, "r_url", redis_url)
        _server(stack, servers, "sshd", lambda: SshServer(root / "sshd"))
        env = {"PYTHONPATH": str(helpers)}
        if servers["maria_db"]:
            env.update(p.sql_env(root / "data.db", servers["maria_db"]))
        if servers["smtp"] and servers["r_url"]:
            env.update(p.http_env(servers["smtp"].port, servers["r_url"]))
        if servers["sshd"]:
            env.update(p.ssh_env(servers["sshd"]))
        lite = Lite(home, dags, command=[os.path.abspath(BINARY)], env=env)
        try:
            lite.start(timeout=240)
        except RuntimeError as exc:
            pytest.fail(f"{exc}\nproviders install: {installed.stdout[-2000:]}{installed.stderr[-2000:]}\n")
        stack.callback(lite.stop)
        lite.installed, lite.servers = installed, servers
        if servers["pg_url"]:
            p.add_sql_connections(lite, servers["pg_url"])  # through the REST API, as from source
        if servers["http"]:
            p.add_http_connections(lite, servers["http"].port)
        yield lite


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
    for name in ("sqlite", "postgres", "mysql", "http", "ssh", "sftp", "redis", "smtp"):
        assert f"installed apache-airflow-providers-{name}==" in world.installed.stdout
        assert (site / "airflow" / "providers" / name).is_dir()
    # mysqlclient has no Linux wheel: the Python on PATH built one, kept beside for the next install
    assert "no wheel of mysqlclient for this Python: building it" in world.installed.stdout
    assert list((site / ".leoflow-wheels").glob("mysqlclient-*-cp3*.whl")) and (site / "MySQLdb").is_dir()
    assert not (site / "airflow" / "__init__.py").exists()  # Leoflow stays the `airflow` package
    # the executable's own libraries are not installed again beside it
    for bundled in ("sqlalchemy", "jinja2", "requests", "redis"):
        assert not (site / bundled).exists() and not list(site.glob(f"{bundled}-*.dist-info")), bundled
    listed = run("providers", "list", "--home", str(world.home), "-o", "json")
    names = {p["package_name"] for p in json.loads(listed.stdout)}
    assert {"apache-airflow-providers-sqlite", "apache-airflow-providers-common-sql"} <= names, listed.stderr
    body = world.api("GET", "/api/v2/providers").json()
    assert "apache-airflow-providers-sqlite" in {p["package_name"] for p in body["providers"]}


def test_every_module_of_the_installed_providers_imports_in_the_executable(world):
    """The import score from the executable: what the frozen build left out of a library it bundles (and
    so pins, never installing it again beside) shows up here, not only on the DAGs' own code paths."""
    result = _result(world, "provider_import_score", "score")
    assert result["frozen"] is True  # the embedded interpreter, not a Python from PATH
    scores = {item["provider"]: item for item in result["scores"]}
    assert set(scores) == set(EVERYDAY)
    for provider, score in scores.items():
        assert score["modules"] > 0 and score["failed"] == {}, f"{provider}: {score}"
        assert score["deep_missing"] == [], f"{provider} asks for these when its code runs: {score}"


def test_the_sql_providers_dag_on_postgres_sqlite_and_mariadb(world):
    needs(world, "pg_url", "maria_db")
    p.check_sql(world, p.run_to_success(world, "provider_sql"))


def test_the_http_smtp_and_redis_providers_dag_with_the_deferred_sensor_in_the_triggerer(world):
    http, smtp, r_url = needs(world, "http", "smtp", "r_url")
    p.check_http(world, p.run_to_success(world, "provider_http_smtp"), http, smtp, r_url)


def test_the_ssh_and_sftp_providers_dag_against_a_local_sshd(world):
    needs(world, "sshd")
    files = world.servers["files"]
    p.check_ssh(world, p.run_to_success(world, "provider_ssh", conf={"folder": str(files)}), files)


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



def test_a_source_distribution_only_is_built_by_the_python_on_path_and_refused_without_one(tmp_path):
    """A library with no wheel (an sdist whose in-tree backend needs nothing from an index): the Python of the
    executable's version on PATH builds its wheel; without one on PATH the install says what to install."""
    import shutil

    links, home = tmp_path / "links", tmp_path / "home"
    sdist(links, "leoflow-exe-src-only", "1.5")
    index = ["--no-index", "--find-links", str(links)]
    bare = tmp_path / "bin"  # the tools the executable's own header needs to unpack itself, and no Python
    bare.mkdir()
    for tool in ("sh", "mkdir", "mktemp", "tail", "tar", "gzip", "mv", "rm", "rmdir"):
        if shutil.which(tool):
            (bare / tool).symlink_to(shutil.which(tool))
    refused = run("pip", "--home", str(home), "install", *index, "leoflow-exe-src-only", env={"PATH": str(bare)})
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "no wheel of leoflow-exe-src-only for this Python (3." in refused.stderr
    assert "with a Python 3." in refused.stderr and "Install Python 3." in refused.stderr
    done = run("pip", "--home", str(home), "install", *index, "leoflow-exe-src-only")
    assert done.returncode == 0 and "installed leoflow-exe-src-only==1.5" in done.stdout, done.stdout + done.stderr
    assert "(no wheel of leoflow-exe-src-only for this Python: building it)" in done.stdout
    site = home / "site-packages"
    assert (site / "leoflow_exe_src_only.py").read_text() == "BUILT_FROM_SOURCE = True\n"
    # the built wheel is kept: installed again after an uninstall, it is not built again
    assert run("pip", "--home", str(home), "uninstall", "leoflow-exe-src-only").returncode == 0
    again = run("pip", "--home", str(home), "install", *index, "leoflow-exe-src-only", env={"PATH": str(bare)})
    assert again.returncode == 0 and "building it" not in again.stdout, again.stdout + again.stderr
    assert (site / "leoflow_exe_src_only.py").exists()

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
