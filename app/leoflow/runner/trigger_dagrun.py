"""What the task runtime does when TriggerDagRunOperator raises `DagRunTriggerException`.

As Airflow 3.2.1's task runner: create the run through the Execution API (`POST /dag-runs/{dag}/{run}`),
on 409 skip (`skip_when_already_exists`), clear it (`reset_dag_run`) or fail; push `trigger_run_id`;
with `wait_for_completion` poll `GET /dag-runs/{dag}/{run}/state` every `poke_interval` until the run
reaches one of `allowed_states` (success) or `failed_states` (failure). Written by the "async" part;
the runtime calls `handle(exc, client, ti)` and reports the state it returns.
"""

from __future__ import annotations

import logging
import time

log = logging.getLogger("airflow.task")

XCOM_RUN_ID = "trigger_run_id"


def handle(exc, client, ti, *, sleep=time.sleep) -> str:
    """Trigger (and maybe wait for) the run; returns the task's final state: success, skipped or failed."""
    from .client import ApiError

    when = exc.logical_date
    body = {"logical_date": when.isoformat() if hasattr(when, "isoformat") else when,
            "conf": exc.conf or {}, "reset_dag_run": bool(exc.reset_dag_run), "note": exc.note}
    path = f"dag-runs/{exc.trigger_dag_id}/{exc.dag_run_id}"
    try:
        client.request("POST", path, body=body)
        log.info("Dag Run triggered successfully. trigger_dag_id=%s", exc.trigger_dag_id)
    except ApiError as err:
        if err.status != 409:
            log.error("Triggering %s failed: %s", exc.trigger_dag_id, err.body)
            return "failed"
        if exc.skip_when_already_exists:
            log.info("Dag run %s of %s already exists; skipping.", exc.dag_run_id, exc.trigger_dag_id)
            return "skipped"
        if not exc.reset_dag_run:
            log.error("DagRunAlreadyExists: dag run %s of %s already exists", exc.dag_run_id, exc.trigger_dag_id)
            return "failed"
        log.info("Clearing dag run %s of %s", exc.dag_run_id, exc.trigger_dag_id)
        client.request("POST", f"{path}/clear")
    client.request("POST", f"xcoms/{ti.dag_id}/{ti.run_id}/{ti.task_id}/{XCOM_RUN_ID}", body=exc.dag_run_id,
                   params={"map_index": ti.map_index})
    if not exc.wait_for_completion:
        return "success"
    while True:
        log.info("Waiting for %s on %s to become allowed state %s ...", exc.trigger_dag_id, exc.dag_run_id,
                 exc.allowed_states)
        sleep(max(float(exc.poke_interval or 0), 0.0))
        state = client.request("GET", f"{path}/state")["state"]
        if state in exc.failed_states:
            log.error("%s failed with failed state %s", exc.trigger_dag_id, state)
            return "failed"
        if state in exc.allowed_states:
            log.info("%s finished with allowed state %s", exc.trigger_dag_id, state)
            return "success"
