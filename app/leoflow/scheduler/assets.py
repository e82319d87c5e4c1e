"""Asset-triggered DAG runs: when the updates queued for a DAG satisfy its asset condition.

Each asset event queues (asset_dag_run_queue) every DAG scheduled on that asset or on an alias that
resolved to it. When the queued assets make the DAG's condition true (`&` all, `|` any, an alias is
true when any asset it resolved to is), one `asset_triggered` run is created, the events since the
DAG's previous asset-triggered run are linked to it (its `triggering_asset_events`), and the DAG's
queue is emptied — Airflow 3.2's behaviour.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import time

from sqlalchemy import select

from ..store import assets as asset_store, dags as dag_store, runs
from ..store.tables import dag_schedule_asset_reference

log = logging.getLogger(__name__)


def evaluate(expr: dict | None, updated: set[tuple[str, str]], alias_assets) -> bool:
    """Is the asset condition satisfied by the updated (name, uri) pairs? `alias_assets(name)` resolves aliases."""
    if not expr:
        return False
    if "all" in expr:
        return all(evaluate(e, updated, alias_assets) for e in expr["all"])
    if "any" in expr:
        return any(evaluate(e, updated, alias_assets) for e in expr["any"])
    if "asset" in expr:
        a = expr["asset"]
        name, uri = a.get("name"), a.get("uri")
        return any((name is None or n == name) and (uri is None or u == uri) for n, u in updated)
    if "alias" in expr:
        return bool(alias_assets(expr["alias"]["name"]) & updated)
    return False


def _scheduling_asset_ids(conn, dag_id: str, condition: dict) -> list[int]:
    ids = set(conn.execute(select(dag_schedule_asset_reference.c.asset_id)
                           .where(dag_schedule_asset_reference.c.dag_id == dag_id)).scalars())
    for leaf in asset_store.expr_leaves(condition):
        if "alias" in leaf:
            for name, uri in asset_store.alias_assets(conn, leaf["alias"]["name"]):
                row = asset_store.active_asset(conn, name=name, uri=uri)
                if row is not None:
                    ids.add(row.id)
    return sorted(ids)


IDLE_LOOK_INTERVAL = 2.0
_looked = {"generation": -1, "at": 0.0}


def create_asset_triggered_runs(leadership, now: dt.datetime, *, force: bool = False) -> set[tuple[str, str]]:
    """Create the runs whose asset conditions are met; returns (dag_id, run_id) of each.

    `leadership` (scheduler/leadership.py) opens the transaction: only the leading scheduler creates runs.

    Skipped (no query) when no event was written in this process since the last look, except every
    IDLE_LOOK_INTERVAL seconds; a DAG unpaused with updates already queued waits at most that long."""
    created: set[tuple[str, str]] = set()
    mono = time.monotonic()
    if (not force and asset_store.generation == _looked["generation"]
            and mono - _looked["at"] < IDLE_LOOK_INTERVAL):
        return created
    _looked.update(generation=asset_store.generation, at=mono)
    with leadership.begin() as conn:
        for dag_id in asset_store.queued_dag_ids(conn):
            dag_row = dag_store.get_dag(conn, dag_id)
            if dag_row is None or dag_row.is_paused or dag_row.is_stale:
                continue
            latest = dag_store.latest_serialized(conn, dag_id)
            if latest is None:
                continue
            version_id, data = latest
            condition = asset_store.schedule_condition(data)
            queue = asset_store.queue_of(conn, dag_id)
            if condition is None or not queue:
                continue
            updated = {(q.name, q.uri) for q in queue}
            alias_cache: dict[str, set] = {}

            def alias_assets(name: str) -> set:
                if name not in alias_cache:
                    alias_cache[name] = asset_store.alias_assets(conn, name)
                return alias_cache[name]

            if not evaluate(condition, updated, alias_assets):
                continue
            run_after = max(q.created_at for q in queue)
            since = asset_store.last_asset_run_date(conn, dag_id)
            run_id = f"asset_triggered__{run_after.isoformat()}_{secrets.token_hex(4)}"
            run = runs.create_dag_run(conn, data, dag_version_id=version_id, run_type="asset_triggered",
                                      run_after=run_after, logical_date=None, data_interval=None,
                                      run_id=run_id, triggered_by="asset")
            asset_ids = sorted(set(_scheduling_asset_ids(conn, dag_id, condition)) | {q.asset_id for q in queue})
            n = asset_store.consume_queue(conn, dag_id, asset_ids, run["id"], since, run_after)
            log.info("Asset-triggered run %s of %s created from %d asset event(s)", run_id, dag_id, n)
            created.add((dag_id, run_id))
    return created
