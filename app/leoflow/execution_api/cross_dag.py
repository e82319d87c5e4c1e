"""What a task may do to other DAGs: trigger a run (TriggerDagRunOperator) and clear one (its
`reset_dag_run`). The routes are in `dag_runs.py`.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import update

from ..store import dags as dag_store, runs, tis
from ..store.tables import task_instance as TI
from ..store.types import utcnow
from .http import HTTPError, forbid_extra, not_found, parse_time

# A one-shot `dags test` knows only the DAG it tests; it sets this to parse the file that defines
# another DAG on demand (returns True when it found one). Lite and server parse the whole folder.
dag_finder: Callable[[str], bool] | None = None
# Airflow's TriggerDAGRunPayload.
TRIGGER_FIELDS = frozenset({"logical_date", "conf", "reset_dag_run", "partition_key", "note"})


def trigger_run(conn, dag_id: str, run_id: str, body: dict, notify, fields=TRIGGER_FIELDS) -> dict:
    """Create a manual run of `dag_id`, as TriggerDagRunOperator asks (triggered_by=operator)."""
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise HTTPError(422, [{"type": "model_attributes_type", "loc": ["body"],
                               "msg": "Input should be a valid dictionary", "input": body}])
    forbid_extra(body, fields)
    conf = body.get("conf") or {}
    if not isinstance(conf, dict):
        raise HTTPError(422, [{"type": "dict_type", "loc": ["body", "conf"],
                               "msg": "Input should be a valid dictionary", "input": conf}])
    logical_date = parse_time(body["logical_date"], "logical_date") if body.get("logical_date") else None
    row = dag_store.get_dag(conn, dag_id)
    if row is None or row.is_stale:
        raise not_found(f"Dag with dag_id: '{dag_id}' not found")
    if row.has_import_errors:
        raise HTTPError(400, {"reason": "import_errors",
                              "message": f"Dag with dag_id '{dag_id}' has import errors and cannot be triggered"})
    latest = dag_store.latest_serialized(conn, dag_id)
    if latest is None:
        raise not_found(f"Dag with dag_id: '{dag_id}' not found")
    version_id, data = latest
    now = utcnow()
    try:
        created = runs.create_dag_run(
            conn, data, dag_version_id=version_id, run_type="manual", run_after=logical_date or now,
            logical_date=logical_date, data_interval=(logical_date, logical_date) if logical_date else None,
            run_id=run_id, conf=conf, triggered_by="operator", note=body.get("note"))
    except runs.InvalidRunId as exc:  # the operator's trigger_run_id: one safe path segment, as the API's
        raise HTTPError(400, {"reason": "invalid_run_id", "message": str(exc)}) from None
    except runs.RunExists:
        raise HTTPError(409, {"reason": "already_exists",
                              "message": f"A run already exists for Dag '{dag_id}' with run_id '{run_id}'"})
    notify(dag_id=dag_id, run_id=created["run_id"])
    return created


def clear_run(conn, dag_id: str, run_id: str) -> None:
    """Every task instance of the run back to no state; the run queued again (try numbers kept)."""
    run = runs.get_run(conn, dag_id, run_id)
    if run is None:
        raise not_found(f"Dag run with run_id: '{run_id}' not found")
    latest = dag_store.latest_serialized(conn, dag_id)
    retries = {t["task_id"]: t.get("retries", 0) for t in (latest[1]["tasks"] if latest else [])}
    now = utcnow()
    for row in tis.tis_of_run(conn, dag_id, run_id):
        if row.try_number > 0 and row.state is not None:
            tis.record_history(conn, row.id)
        # As Airflow's clear: the next try gets the task's retries again.
        conn.execute(update(TI).where(TI.c.id == row.id).values(
            state=None, start_date=None, end_date=None, duration=None, next_method=None, next_kwargs=None,
            trigger_id=None, trigger_timeout=None, updated_at=now,
            max_tries=row.try_number + retries.get(row.task_id, 0)))
    runs.set_run_state(conn, dag_id, run_id, "queued", start_date=None, end_date=None, queued_at=now,
                       clear_number=run.clear_number + 1)
