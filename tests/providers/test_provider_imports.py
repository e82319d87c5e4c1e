"""The import hook finds provider packages on disk and names what a provider lacks (no pip needed:
a provider folder of the test's own, laid out as a wheel installs one)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap


def _run(site, code: str) -> subprocess.CompletedProcess:
    code = "from leoflow.sdk import importhook; importhook.install()\n" + textwrap.dedent(code)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(site)})


def _provider(site, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = site / "airflow" / "providers" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def test_a_provider_on_sys_path_runs_its_own_code_on_leoflows_airflow(tmp_path):
    _provider(tmp_path, {
        "demo/__init__.py": "from airflow import __version__ as airflow_version\n",
        "demo/hooks/demo.py": """
            from airflow.sdk import BaseHook
            from airflow.utils.log.logging_mixin import LoggingMixin

            class DemoHook(BaseHook):
                conn_name_attr = "demo_conn_id"
                def __init__(self, demo_conn_id="demo_default"):
                    super().__init__()
                    self.demo_conn_id = demo_conn_id
                def get_conn(self):
                    return self.get_connection(self.demo_conn_id).host
            """,
    })
    done = _run(tmp_path, """
        import os
        os.environ["AIRFLOW_CONN_DEMO_DEFAULT"] = "demo://db.example:1"
        from airflow.providers.demo import airflow_version
        from airflow.providers.demo.hooks.demo import DemoHook
        import airflow.providers.demo.hooks.demo as mod
        hook = DemoHook()
        print(airflow_version, hook.get_conn(), hook.log.name, mod.__file__.endswith("demo/hooks/demo.py"))
        """)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["3.2.1", "db.example", "airflow.task.hooks.airflow.providers.demo.hooks.demo.DemoHook",
                                   "True"]


def test_what_a_provider_lacks_is_named_at_import_with_its_importer(tmp_path):
    _provider(tmp_path, {"needy/__init__.py": "", "needy/operators/needy.py":
                         "from airflow.models.taskinstance import clear_task_instances\n"})
    done = _run(tmp_path, "import airflow.providers.needy.operators.needy\n")
    assert done.returncode == 1
    assert ("ImportError: Leoflow does not support `airflow.models.taskinstance.clear_task_instances` yet "
            "(imported by airflow.providers.needy.operators.needy)") in done.stderr


def test_a_provider_not_installed_is_named_with_the_command_that_installs_it(tmp_path):
    done = _run(tmp_path, "from airflow.providers.postgres.hooks.postgres import PostgresHook\n")
    assert ("ModuleNotFoundError: `airflow.providers.postgres` needs the provider `postgres`, which is not "
            "installed: `leoflow providers install postgres`") in done.stderr
    done = _run(tmp_path, "import airflow.providers.common.sql.hooks.sql\n")
    assert "needs the provider `common-sql`, which is not installed: `leoflow providers install common-sql`" \
        in done.stderr
    done = _run(tmp_path, "import airflow.providers.standard.not_a_module\n")  # Leoflow's own provider
    assert "Leoflow does not support `airflow.providers.standard.not_a_module` yet" in done.stderr
