"""Import one DAG file and return the DAGs it defines."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys

from leoflow.sdk import dag as dag_module
from leoflow.sdk import importhook
from leoflow.sdk.dag import DAG


def module_name_for(path: str) -> str:
    # Unique per path, so two files named dag.py in different folders never clash.
    digest = hashlib.sha1(path.encode()).hexdigest()[:12]
    stem = os.path.splitext(os.path.basename(path))[0]
    return f"unusual_prefix_{digest}_{''.join(c if c.isalnum() else '_' for c in stem)}"


def dags_from_file(path: str) -> list[DAG]:
    """Every DAG the file defines: module globals plus DAGs registered on creation.

    Exceptions (SyntaxError, ImportError, cycles, ...) propagate; the caller
    turns them into import errors with file and line.
    """
    importhook.install()
    from leoflow.sdk import plugins

    plugins.load()  # the plugins folder's timetables / weight strategies, once per process
    path = os.path.abspath(path)
    folder = os.path.dirname(path)
    name = module_name_for(path)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"Cannot import {path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    added_path = folder not in sys.path
    if added_path:
        sys.path.insert(0, folder)  # sibling imports (`import helpers`) work
    dag_module.take_created()  # forget leftovers from an earlier failed import
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
        registered = dag_module.take_created()
    except BaseException:
        sys.modules.pop(name, None)
        dag_module.take_created()
        dag_module._stack.clear()
        from leoflow.sdk import setup_teardown, taskgroup

        taskgroup._stack.clear()  # nothing of a failed file may leak into the next one
        setup_teardown.CONTEXT.reset()
        raise
    finally:
        if added_path and folder in sys.path:
            sys.path.remove(folder)

    found: dict[int, DAG] = {}
    for value in list(vars(module).values()) + registered:
        if isinstance(value, DAG):
            found.setdefault(id(value), value)
    # The same dag_id twice in one file: the last one wins, as in Airflow.
    by_id: dict[str, DAG] = {}
    for dag in found.values():
        by_id.pop(dag.dag_id, None)
        by_id[dag.dag_id] = dag
    for dag in by_id.values():
        dag.fileloc = path
        dag.validate()
    return list(by_id.values())
