"""With the fork-server parser, a folder of files is parsed several at a time and stored in full."""

import pytest

from leoflow import config
from leoflow.dagproc.processor import DagProcessor, forkserver_parser, inprocess_parser
from leoflow.executors.forkserver import ForkServer
from leoflow.services import open_services
from leoflow.store import dags as dag_store

SLOW = '''import pathlib, time
from airflow.sdk import dag, task

started = time.time()
time.sleep(1.0)  # a DAG file that is slow to import (a big library, a network call...)
pathlib.Path({marks!r}, "slow_{n}").write_text(f"{{started}} {{time.time()}}")


@dag(dag_id="slow_{n}", schedule=None)
def slow():
    @task
    def one():
        return 1

    one()


slow()
'''


@pytest.fixture
def forkserver():
    fs = ForkServer.start()
    yield fs
    fs.stop()


def test_slow_files_are_parsed_in_parallel_and_all_stored(tmp_path, forkserver):
    folder = tmp_path / "dags"
    folder.mkdir()
    marks = tmp_path / "marks"
    marks.mkdir()
    for n in range(4):
        (folder / f"slow_{n}.py").write_text(SLOW.format(n=n, marks=str(marks)))
    services = open_services(config.load(home=tmp_path / "home", dags_folder=folder,
                                         database_url=f"sqlite:///{tmp_path / 'db.sqlite'}"))
    processor = DagProcessor(services, forkserver_parser(forkserver), paused_by_default=False)
    forkserver.warm()
    assert len(processor.refresh()) == 4
    with services.engine.connect() as conn:
        assert all(dag_store.get_dag(conn, f"slow_{n}") is not None for n in range(4))
    # Parallel, however loaded the machine: the imports' sleeps overlapped (one at a time, each would
    # start after the one before ended).
    spans = [tuple(map(float, (marks / f"slow_{n}").read_text().split())) for n in range(4)]
    overlapping = sum(1 for a in spans for b in spans if a is not b and a[0] < b[1] and b[0] < a[1])
    assert overlapping >= 2, f"no two imports ran at once: {sorted(spans)}"


def test_the_in_process_parser_stays_one_file_at_a_time():
    assert not getattr(inprocess_parser, "concurrent", False)
