"""A hanging DAG file delays no other file, and a file that allocates without bound fails alone.

Parses run in a bounded set of workers and each result is stored as it arrives;
a parse child's address space is capped (`dag_parse_memory_limit`, MiB), and
going over it is the file's import error, naming the cap and the setting.
"""

import threading
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

HANGS = "import time\nfrom airflow.sdk import dag\ntime.sleep(60)\n"

GREEDY = '''
from airflow.sdk import dag

ballast = bytearray({size})  # a file that loads a huge table at import time

@dag(dag_id="greedy", schedule=None)
def greedy():
    pass

greedy()
'''


@pytest.fixture(scope="module")
def forkserver():
    server = ForkServer.start()
    server.warm()
    yield server
    server.stop()


def make_processor(tmp_path, forkserver, **settings):
    folder = tmp_path / "dags"
    folder.mkdir(parents=True, exist_ok=True)
    values = config.load(home=tmp_path / "home", dags_folder=folder)
    for name, value in settings.items():
        setattr(values, name, value)
    services = open_services(values)
    return DagProcessor(services, forkserver_parser(forkserver), paused_by_default=False), folder, services


@pytest.fixture
def running(tmp_path, forkserver):
    """The processor's own loop in a thread, as lite runs it."""
    started = []

    def start(**settings):
        proc, folder, services = make_processor(tmp_path, forkserver, **settings)
        thread = threading.Thread(target=proc.run_forever, daemon=True)
        started.append((proc, thread, services))
        return proc, folder, services, thread

    yield start
    for proc, thread, services in started:
        proc.stop.set()
        proc.wake.set()
        thread.join(10)
        services.engine.dispose()


def visible_within(services, dag_id: str, seconds: float) -> float | None:
    """Seconds until the DAG was stored, or None if it was not within `seconds`."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        with services.engine.connect() as conn:
            if dag_store.get_dag(conn, dag_id) is not None:
                return time.monotonic() - started
        time.sleep(0.02)
    return None


def test_a_hanging_file_delays_neither_the_good_file_beside_it_nor_a_new_one(running):
    proc, folder, services, thread = running(parse_timeout=20.0)
    (folder / "a_hangs.py").write_text(HANGS)  # first in file order
    (folder / "b_good.py").write_text(GOOD.format(dag_id="b_good"))
    thread.start()
    # Well inside the hanging file's 20 s parse timeout, with room for a loaded machine (it took > 2 s once).
    assert visible_within(services, "b_good", 8.0) is not None, "the good file waited for the hanging one"
    (folder / "c_new.py").write_text(GOOD.format(dag_id="c_new"))  # while a_hangs.py still hangs
    assert visible_within(services, "c_new", 8.0) is not None, "a new file waited for the hanging one"
    assert "a_hangs.py" in " ".join(proc.running)  # still hanging, in its own worker
    with services.engine.connect() as conn:
        assert dag_store.import_errors(conn) == []


def test_refresh_stores_each_result_as_it_arrives(tmp_path, forkserver):
    proc, folder, services = make_processor(tmp_path, forkserver, parse_timeout=3.0)
    (folder / "a_hangs.py").write_text(HANGS)
    (folder / "b_good.py").write_text(GOOD.format(dag_id="b_good"))
    seen_at = {}

    def watch():
        seen_at["b_good"] = visible_within(services, "b_good", 5.0)

    watcher = threading.Thread(target=watch)
    watcher.start()
    started = time.monotonic()
    proc.refresh()
    watcher.join()
    assert time.monotonic() - started >= 2.5  # refresh() waits for every file, the hanging one too
    assert seen_at["b_good"] is not None and seen_at["b_good"] < 2.0
    with services.engine.connect() as conn:
        (error,) = dag_store.import_errors(conn)
    assert "Timeout" in error.stacktrace and error.filename.endswith("a_hangs.py")


def test_a_file_allocating_3_gib_is_an_import_error_naming_the_default_cap(tmp_path, forkserver):
    proc, folder, services = make_processor(tmp_path, forkserver)
    assert services.settings.dag_parse_memory_limit == 2048  # the default
    (folder / "greedy.py").write_text(GREEDY.format(size=3 << 30))
    (folder / "good.py").write_text(GOOD.format(dag_id="good"))
    proc.refresh()
    with services.engine.connect() as conn:
        (error,) = dag_store.import_errors(conn)
        assert dag_store.get_dag(conn, "greedy") is None
        assert dag_store.get_dag(conn, "good") is not None
    assert error.filename.endswith("greedy.py")
    assert "MemoryError" in error.stacktrace and "line 4" in error.stacktrace
    assert "exceeded the parse memory limit of 2048 MiB; raise LEOFLOW_DAG_PARSE_MEMORY_LIMIT" in error.stacktrace


def test_the_cap_is_configurable_and_zero_lifts_it(tmp_path, forkserver, monkeypatch):
    monkeypatch.setenv("LEOFLOW_DAG_PARSE_MEMORY_LIMIT", "300")
    assert config.load(home=tmp_path).dag_parse_memory_limit == 300
    proc, folder, services = make_processor(tmp_path, forkserver, dag_parse_memory_limit=300)
    (folder / "greedy.py").write_text(GREEDY.format(size=400 << 20))
    proc.refresh()
    with services.engine.connect() as conn:
        (error,) = dag_store.import_errors(conn)
    assert "parse memory limit of 300 MiB" in error.stacktrace

    lifted, folder2, services2 = make_processor(tmp_path / "lifted", forkserver, dag_parse_memory_limit=0)
    (folder2 / "greedy.py").write_text(GREEDY.format(size=400 << 20))
    lifted.refresh()
    with services2.engine.connect() as conn:
        assert dag_store.import_errors(conn) == []
        assert dag_store.get_dag(conn, "greedy") is not None
