"""Execution API: assets and asset events, as Airflow 3.2.1's task runner reads and reports them.

- `GET /assets/by-name`, `/assets/by-uri`: an active asset.
- `GET /asset-events/by-asset`, `/asset-events/by-asset-alias`: events (for `inlet_events`).
- `GET /task-instances/{id}/validate-inlets-and-outlets`: inactive assets a task uses.
- a successful task's outlets become asset events (`register_success_outlets`, called from the state route).
"""

from __future__ import annotations

from ..store import assets as asset_store, dags as dag_store, tis
from . import versions
from .http import HTTPError, not_found, query_bool, query_int, query_required, query_time, respond


def profiles_of(objs: list[dict]) -> list[dict]:
    """Serialized outlets/inlets as Airflow's AssetProfile documents."""
    out = []
    for o in objs or []:
        kind = o.get("type")
        if kind == "asset":
            out.append({"name": o.get("name"), "uri": o.get("uri"), "type": "Asset"})
        elif kind == "asset_alias":
            out.append({"name": o.get("name"), "uri": None, "type": "AssetAlias"})
        elif kind == "asset_name_ref":
            out.append({"name": o.get("name"), "uri": None, "type": "AssetNameRef"})
        elif kind == "asset_uri_ref":
            out.append({"name": None, "uri": o.get("uri"), "type": "AssetUriRef"})
    return out


# A DAG version's serialized document never changes: its tasks' outlets are read once per version, not
# once per finished task (decoding a 1,000-task document per task made big runs quadratic).
_OUTLETS_BY_VERSION: dict[str, dict[str, list]] = {}
_OUTLETS_CACHE_SIZE = 64


def _declared_outlets(conn, ti) -> list:
    if ti.dag_version_id:
        by_task = _OUTLETS_BY_VERSION.get(ti.dag_version_id)
        if by_task is None:
            data = dag_store.serialized_by_version(conn, ti.dag_version_id)
            if data is not None:
                if len(_OUTLETS_BY_VERSION) >= _OUTLETS_CACHE_SIZE:
                    _OUTLETS_BY_VERSION.pop(next(iter(_OUTLETS_BY_VERSION)))
                by_task = _OUTLETS_BY_VERSION[ti.dag_version_id] = {
                    t["task_id"]: t.get("outlets") or [] for t in data.get("tasks", [])}
        if by_task is not None:
            return by_task.get(ti.task_id, [])
    task = _task_doc(conn, ti)
    return task.get("outlets") if task else []


def _task_doc(conn, ti) -> dict | None:
    data = dag_store.serialized_by_version(conn, ti.dag_version_id) if ti.dag_version_id else None
    if data is None:
        latest = dag_store.latest_serialized(conn, ti.dag_id)
        data = latest[1] if latest else None
    if data is None:
        return None
    return next((t for t in data.get("tasks", []) if t["task_id"] == ti.task_id), None)


def register_success_outlets(conn, ti, body: dict) -> list[int]:
    """Asset events for a task that succeeded. A runner that does not send `task_outlets` gets the
    outlets the DAG file declared (the same list Airflow's runner would send)."""
    task_outlets = body.get("task_outlets")
    if task_outlets is None:
        task_outlets = profiles_of(_declared_outlets(conn, ti))
    if not isinstance(task_outlets, list) or not all(isinstance(p, dict) for p in task_outlets):
        raise HTTPError(422, [{"type": "list_type", "loc": ["body", "task_outlets"],
                               "msg": "Input should be a valid list of asset profiles", "input": task_outlets}])
    outlet_events = body.get("outlet_events") or []
    if not isinstance(outlet_events, list) or not all(isinstance(e, dict) for e in outlet_events):
        raise HTTPError(422, [{"type": "list_type", "loc": ["body", "outlet_events"],
                               "msg": "Input should be a valid list of dictionaries", "input": outlet_events}])
    return asset_store.register_outlet_events(conn, ti, task_outlets, outlet_events)


def asset_body(row) -> dict:
    return {"name": row.name, "uri": row.uri, "group": row.group, "extra": row.extra or {}}


def event_body(row, created_runs) -> dict:
    return {
        "id": row.id,
        "timestamp": row.timestamp,
        "extra": row.extra or {},
        "asset": {"name": row.name, "uri": row.uri, "group": row.group, "extra": row.asset_extra or {}},
        "created_dagruns": [{
            "run_id": r.run_id, "dag_id": r.dag_id, "logical_date": r.logical_date, "start_date": r.start_date,
            "end_date": r.end_date, "state": r.state, "data_interval_start": r.data_interval_start,
            "data_interval_end": r.data_interval_end, "partition_key": None} for r in created_runs],
        "source_task_id": row.source_task_id,
        "source_dag_id": row.source_dag_id,
        "source_run_id": row.source_run_id,
        "source_map_index": row.source_map_index,
        "partition_key": None,
    }


def events_body(conn, rows) -> dict:
    created = asset_store.runs_created_by_events(conn, [r.id for r in rows])
    return {"asset_events": [event_body(r, created.get(r.id, [])) for r in rows]}


def consumed_event_bodies(conn, dag_run_pk: int) -> list[dict]:
    """`DagRun.consumed_asset_events` (AssetEventDagRunReference): what `triggering_asset_events` shows."""
    rows = asset_store.consumed_events(conn, dag_run_pk)
    aliases = asset_store.aliases_of_events(conn, [r.id for r in rows])
    return [{
        "asset": {"name": r.name, "uri": r.uri, "extra": r.asset_extra or {}},
        "extra": r.extra or {},
        "source_task_id": r.source_task_id,
        "source_dag_id": r.source_dag_id,
        "source_run_id": r.source_run_id,
        "source_map_index": r.source_map_index,
        "source_aliases": [{"name": a["name"]} for a in aliases.get(r.id, [])],
        "timestamp": r.timestamp,
    } for r in rows]


def get_by_name(call):
    name = query_required(call.request, "name")
    with call.engine.connect() as conn:
        row = asset_store.active_asset(conn, name=name)
    if row is None:
        raise not_found(f"Asset with name {name} not found")
    return respond(asset_body(row))


def get_by_uri(call):
    uri = query_required(call.request, "uri")
    with call.engine.connect() as conn:
        row = asset_store.active_asset(conn, uri=uri)
    if row is None:
        raise not_found(f"Asset with URI {uri} not found")
    return respond(asset_body(row))


def _window(request) -> dict:
    return dict(after=query_time(request, "after"), before=query_time(request, "before"),
                ascending=query_bool(request, "ascending", True), limit=query_int(request, "limit"))


def get_events_by_asset(call):
    name, uri = call.query.get("name"), call.query.get("uri")
    if not name and not uri:
        raise HTTPError(400, {"reason": "Missing parameter", "message": "name and uri cannot both be None"})
    with call.engine.connect() as conn:
        rows = asset_store.events_by_asset(conn, name=name or None, uri=uri or None, **_window(call.request))
        return respond(versions.asset_events_for(call.version, events_body(conn, rows)))


def get_events_by_alias(call):
    name = query_required(call.request, "name")
    with call.engine.connect() as conn:
        rows = asset_store.events_by_alias(conn, name, **_window(call.request))
        return respond(versions.asset_events_for(call.version, events_body(conn, rows)))


def validate_inlets_and_outlets(call, task_instance_id):
    with call.engine.connect() as conn:
        ti = tis.get_ti(conn, task_instance_id)
        if ti is None:
            raise not_found("Task Instance not found")
        task = _task_doc(conn, ti) or {}
        used = {(o.get("name"), o.get("uri")) for o in (task.get("inlets") or []) + (task.get("outlets") or [])
                if o.get("type") == "asset"}
        inactive = sorted(k for k in used if not asset_store.is_active(conn, k[0], k[1]))
    return respond({"inactive_assets": [{"name": n, "uri": u, "type": "Asset"} for n, u in inactive]})
