"""The DAG processor: versions on change, import errors with file and line, timeouts, deletions."""

import os
import time

import pytest

from leoflow import config
from leoflow.dagproc.processor import DagProcessor, forkserver_parser
from leoflow.executors.forkserver import ForkServer
from leoflow.services import open_services
from leoflow.store import dags as dag_store

GOOD = '''
from airflow.sdk import dag, task

@dag(dag_id="{dag_id}", schedule=None)
def make():
    @task
    def one():
        return 1
    one()

make()
'''


@pytest.fixture(scope="module")
def forkserver():
    server = ForkServer.start()
    yield server
    server.stop()


@pytest.fixture
def processor(tmp_path, forkserver):
    folder = tmp_path / "dags"
    folder.mkdir()
    settings = config.load(home=tmp_path / "home", dags_folder=folder)
    settings.parse_timeout = 2.0
    services = open_services(settings)
    yield DagProcessor(services, forkserver_parser(forkserver), paused_by_default=False), folder, services
    services.engine.dispose()


def test_a_dag_gets_a_new_version_only_when_it_changes(processor):
    proc, folder, services = processor
    path = folder / "one.py"
    path.write_text(GOOD.format(dag_id="one"))
    proc.refresh()
    path.write_text(GOOD.format(dag_id="one") + "\n# a comment changes the file, not the DAG\n")
    proc.refresh()
    with services.engine.connect() as conn:
        assert dag_store.latest_version(conn, "one").version_number == 1
    path.write_text(GOOD.format(dag_id="one").replace("def one", "def two").replace("one()", "two()"))
    proc.refresh()
    with services.engine.connect() as conn:
        assert dag_store.latest_version(conn, "one").version_number == 2


def test_broken_files_become_import_errors_and_others_still_load(processor):
    proc, folder, services = processor
    (folder / "good.py").write_text(GOOD.format(dag_id="good"))
    (folder / "syntax.py").write_text("from airflow.sdk import dag\n\n\ndef broken(:\n")
    (folder / "raises.py").write_text("from airflow.sdk import dag\nraise RuntimeError('nope')\n")
    (folder / "exits.py").write_text("import sys\nfrom airflow.sdk import dag\nsys.exit(3)\n")
    (folder / "missing.py").write_text("from airflow.sdk import dag\nfrom airflow.not_a_module import X\n")
    proc.refresh()
    with services.engine.connect() as conn:
        errors = {e.filename.rsplit("/", 1)[-1]: e.stacktrace for e in dag_store.import_errors(conn)}
        assert dag_store.latest_serialized(conn, "good") is not None
    assert set(errors) == {"syntax.py", "raises.py", "exits.py", "missing.py"}
    assert "line 4" in errors["syntax.py"] and "SyntaxError" in errors["syntax.py"]
    assert "line 2" in errors["raises.py"] and "RuntimeError: nope" in errors["raises.py"]
    assert "SystemExit" in errors["exits.py"]
    assert "airflow.not_a_module" in errors["missing.py"]


def test_a_hanging_file_times_out_as_an_import_error(processor):
    proc, folder, services = processor
    (folder / "hangs.py").write_text("import time\nfrom airflow.sdk import dag\ntime.sleep(60)\n")
    started = time.monotonic()
    proc.refresh()
    assert time.monotonic() - started < 10
    with services.engine.connect() as conn:
        (error,) = dag_store.import_errors(conn)
    assert "Timeout" in error.stacktrace


def test_fixing_a_file_clears_its_error_and_deleting_it_makes_its_dags_stale(processor):
    proc, folder, services = processor
    path = folder / "flip.py"
    path.write_text("from airflow.sdk import dag\nraise ValueError('x')\n")
    proc.refresh()
    path.write_text(GOOD.format(dag_id="flip"))
    proc.refresh()
    with services.engine.connect() as conn:
        assert dag_store.import_errors(conn) == []
        assert dag_store.get_dag(conn, "flip").is_stale is False
    path.unlink()
    proc.refresh()
    with services.engine.connect() as conn:
        assert dag_store.get_dag(conn, "flip").is_stale is True


def test_files_without_airflow_and_dag_are_not_imported(processor):
    proc, folder, services = processor
    (folder / "helper.py").write_text("raise RuntimeError('never imported')\n")
    proc.refresh()
    with services.engine.connect() as conn:
        assert dag_store.import_errors(conn) == []


def test_the_parse_scratch_folder_goes_when_the_process_exits(tmp_path):
    """A process that parsed through the fork server leaves no leoflow-parse-* folder behind (its socket
    and limits file lived there), and the fork server's own exit does not remove it early."""
    import subprocess
    import sys
    import textwrap

    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "one.py").write_text(GOOD.format(dag_id="one"))
    script = textwrap.dedent(f"""
        from leoflow import config
        from leoflow.dagproc.processor import DagProcessor, forkserver_parser
        from leoflow.executors.forkserver import ForkServer
        from leoflow.services import open_services

        forkserver = ForkServer.start()
        parser = forkserver_parser(forkserver)
        services = open_services(config.load(home={str(tmp_path / "home")!r}, dags_folder={str(folder)!r}))
        DagProcessor(services, parser, paused_by_default=False).refresh()
        forkserver.stop()
        assert parser.workdir.is_dir(), "removed by the fork server's exit"
        print(parser.workdir)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    workdir = done.stdout.strip().splitlines()[-1]
    assert "leoflow-parse-" in workdir and not os.path.exists(workdir)
