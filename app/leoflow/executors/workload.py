"""The job a queued try becomes: Airflow 3.2's `ExecuteTask` workload, whole.

Every executor hands over this one document (the local executor forks it, an agent claims it, a
Kubernetes pod receives it) and both task runners read it: Leoflow's, and Airflow's own
`python -m airflow.sdk.execution_time.execute_workload`. Paths in it are relative: `dag_rel_path`
to the DAG bundle's folder (the DAG folder), `log_path` to the log folder; where those folders are
is the runner's environment, not the job's.
"""

from __future__ import annotations

import os

from ..execution_api import tokens
from ..runner.logfile import log_relative_path
from ..store.dags import BUNDLE

DEFAULT_QUEUE = "default"  # Airflow's [operators] default_queue

_REL_PATHS: dict[tuple[str, str], str] = {}  # (DAG folder, fileloc) -> dag_rel_path: one per DAG file


def dag_rel_path(fileloc: str, dags_folder) -> str:
    """The DAG file relative to the DAG folder (the file itself when it lies elsewhere)."""
    key = (str(dags_folder), fileloc)
    rel = _REL_PATHS.get(key)
    if rel is None:
        rel = os.path.relpath(fileloc, key[0])
        if rel.startswith(os.pardir + os.sep) or rel == os.pardir:
            rel = fileloc  # an absolute path joined to the bundle folder stays itself
        if len(_REL_PATHS) > 4096:
            _REL_PATHS.clear()
        _REL_PATHS[key] = rel
    return rel


def execute_task(ti, fileloc: str, *, dags_folder, token_secret: str, bundle_version: str | None = None) -> dict:
    """The `ExecuteTask` document for a task instance row that was just queued (its new try).

    Its token is a `workload` token: it only starts the try, which then gets its execution token.
    `bundle_version`: for an executor whose workers fetch the DAG code (agents), the sha256 of the
    bundle the try's run records (agents/bundles.py); None where the worker reads the DAG folder."""
    return {
        "token": tokens.issue(token_secret, ti.id, scope=tokens.WORKLOAD, try_number=ti.try_number),
        "dag_rel_path": dag_rel_path(fileloc, dags_folder),
        "bundle_info": {"name": BUNDLE, "version": bundle_version},
        "log_path": log_relative_path(ti.dag_id, ti.run_id, ti.task_id, ti.map_index, ti.try_number),
        "ti": {
            "id": ti.id,
            "dag_version_id": ti.dag_version_id,
            "task_id": ti.task_id,
            "dag_id": ti.dag_id,
            "run_id": ti.run_id,
            "try_number": ti.try_number,
            "map_index": ti.map_index,
            "pool_slots": ti.pool_slots,
            "queue": ti.queue or DEFAULT_QUEUE,
            "priority_weight": ti.priority_weight,
            "parent_context_carrier": None,
            "context_carrier": None,
        },
        "sentry_integration": "",
        "type": "ExecuteTask",
    }
