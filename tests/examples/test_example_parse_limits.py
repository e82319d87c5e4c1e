"""Airflow 3.2.1's example DAGs parse in a capped parse child exactly as without a cap, and
parsing them all again (what the periodic re-parse does) writes no new DAG version."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from leoflow import config
from leoflow.dagproc.parse import parse_file
from leoflow.dagproc.processor import DagProcessor, forkserver_parser, might_define_dags
from leoflow.executors.forkserver import ForkServer
from leoflow.services import open_services
from leoflow.store import dags as dag_store
from leoflow.store.tables import dag, dag_version


@pytest.fixture(scope="module")
def forkserver(example_folder):  # forked once the example package is served: its children inherit that
    server = ForkServer.start()
    yield server
    server.stop()


def test_the_examples_parse_alike_under_the_default_cap_and_again_without_new_versions(
        example_folder, forkserver, tmp_path):
    services = open_services(config.load(home=tmp_path, dags_folder=example_folder))
    assert services.settings.dag_parse_memory_limit == 2048
    processor = DagProcessor(services, forkserver_parser(forkserver), paused_by_default=False)
    files = [f for f in processor.refresh() if might_define_dags(f)]
    assert len(files) > 40

    expected_dags, expected_errors = {}, set()
    for path in files:  # here, in this process: no cap
        result = parse_file(path)
        if result.error:
            expected_errors.add(path)
        expected_dags[path] = sorted(d["dag_id"] for d in result.dags)
    with services.engine.connect() as conn:
        errors = {e.filename: e.stacktrace for e in dag_store.import_errors(conn)}
        stored = conn.execute(select(dag.c.fileloc, dag.c.dag_id).where(dag.c.is_stale.is_(False))).all()
    capped_dags = {path: sorted(r.dag_id for r in stored if r.fileloc == path) for path in files}
    assert set(errors) == expected_errors, {p: errors.get(p, "")[-300:] for p in set(errors) ^ expected_errors}
    assert capped_dags == expected_dags
    assert not any("memory limit" in text for text in errors.values())

    processor.seen.clear()  # every file looks new: all parsed again
    assert len(processor.refresh()) >= len(files)
    with services.engine.connect() as conn:
        versions = dict(conn.execute(select(dag_version.c.dag_id, func.count()).group_by(dag_version.c.dag_id)).all())
    assert len(versions) >= 60 and set(versions.values()) == {1}, {k: v for k, v in versions.items() if v > 1}
