"""Shared helpers for the sdk tests: an in-memory server and an in-process runner."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from leoflow.sdk import importhook, runtime

# Test modules import `airflow.*` at the top, like DAG files do.
importhook.install()

from tests import reference

BENCH_DAGS = str(reference.BENCH_DAGS)
EXAMPLE_DAGS = str(reference.example_dags())
REFERENCE = str(reference.REFERENCE_EXAMPLES)
HERE = os.path.dirname(__file__)


class MemoryComms:
    """The Comms protocol over dicts: what the server would store."""

    def __init__(self, variables=None, connections=None):
        self.xcoms: dict[tuple, object] = {}
        self.variables = dict(variables or {})
        self.connections = dict(connections or {})

    def get_xcom(self, dag_id, run_id, task_id, key, map_index=-1):
        k = (dag_id, run_id, task_id, key, map_index)
        return (k in self.xcoms, self.xcoms.get(k))

    def set_xcom(self, dag_id, run_id, task_id, key, value, map_index=-1):
        self.xcoms[(dag_id, run_id, task_id, key, map_index)] = value

    def get_variable(self, key):
        return self.variables.get(key)

    def get_connection(self, conn_id):
        return self.connections.get(conn_id)


LOGICAL_DATE = dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc)


def make_ti(dag, task, run_id="manual__2026-01-05T00:00:00+00:00", try_number=1):
    return {"id": f"ti-{task.task_id}", "dag_id": dag.dag_id, "task_id": task.task_id, "run_id": run_id,
            "try_number": try_number, "map_index": -1, "max_tries": task.retries}


def make_run(dag, run_id="manual__2026-01-05T00:00:00+00:00", logical_date=LOGICAL_DATE, conf=None):
    return {"dag_id": dag.dag_id, "run_id": run_id, "logical_date": logical_date,
            "data_interval_start": logical_date, "data_interval_end": logical_date,
            "run_after": LOGICAL_DATE, "start_date": LOGICAL_DATE, "conf": conf or {}, "run_type": "manual"}


def run_task(dag, task, comms, **run_kwargs):
    """What Leoflow's runner does for one task: context, execute, push the result."""
    run = make_run(dag, **run_kwargs)
    context = runtime.build_context(dag, task, make_ti(dag, task, run["run_id"]), run)
    result = runtime.execute_task(task, context)
    if task.do_xcom_push and result is not None:
        comms.set_xcom(dag.dag_id, run["run_id"], task.task_id, "return_value", result)
        if task.multiple_outputs and isinstance(result, dict):
            for key, value in result.items():
                comms.set_xcom(dag.dag_id, run["run_id"], task.task_id, key, value)
    return result


def run_dag(dag, comms, **run_kwargs) -> dict:
    """Every task in topological order; returns task_id -> return value."""
    return {task.task_id: run_task(dag, task, comms, **run_kwargs) for task in dag.topological_sort()}


@pytest.fixture
def comms():
    c = MemoryComms()
    runtime.set_comms(c)
    yield c
    runtime.set_comms(None)


@pytest.fixture
def dag_file(tmp_path):
    """Write a DAG file from source text and return its path."""

    def write(source: str, name: str = "my_dag.py") -> str:
        path = tmp_path / name
        path.write_text(source)
        return str(path)

    return write


@pytest.fixture(autouse=True)
def _hook():
    importhook.install()
    yield
