"""/assets: assets, aliases, asset events (list and create), queued events per asset, materialize."""

from __future__ import annotations

from sqlalchemy import delete, func, select

from ..store import dags as store_dags
from ..store import runs as store_runs
from ..store.tables import (
    asset,
    asset_active,
    asset_alias,
    asset_alias_asset,
    asset_dag_run_queue,
    asset_event,
    dag,
    dag_run,
    dag_schedule_asset_reference,
    dagrun_asset_event,
    task_inlet_asset_reference,
    task_outlet_asset_reference,
)
from ..store.types import utcnow
from . import admin_common as common
from . import queries
from .dag_runs import run_bodies
from .errors import HTTPError, not_found
from .serializers import iso
from .validate import Query, json_body, path_int

_ASSET_ORDER = {name: asset.c[name] for name in ("id", "name", "uri", "created_at", "updated_at")}
_ALIAS_ORDER = {"id": asset_alias.c.id, "name": asset_alias.c.name}
_EVENT_ORDER = {name: asset_event.c[name] for name in ("id", "source_task_id", "source_dag_id", "source_run_id",
                                                       "source_map_index", "timestamp")}


def _references(conn, table, ids, with_task: bool) -> dict[int, list]:
    out: dict[int, list] = {i: [] for i in ids}
    if not ids:
        return out
    for r in conn.execute(select(table).where(table.c.asset_id.in_(ids)).order_by(table.c.dag_id)):
        item = {"dag_id": r.dag_id}
        if with_task:
            item["task_id"] = r.task_id
        item.update({"created_at": iso(r.created_at), "updated_at": iso(r.updated_at)})
        out[r.asset_id].append(item)
    return out


def asset_bodies(conn, rows) -> list[dict]:
    ids = [r.id for r in rows]
    scheduled = _references(conn, dag_schedule_asset_reference, ids, False)
    producing = _references(conn, task_outlet_asset_reference, ids, True)
    consuming = _references(conn, task_inlet_asset_reference, ids, True)
    aliases: dict[int, list] = {i: [] for i in ids}
    last: dict[int, tuple] = {}
    if ids:
        for r in conn.execute(select(asset_alias_asset.c.asset_id, asset_alias)
                              .join(asset_alias, asset_alias.c.id == asset_alias_asset.c.alias_id)
                              .where(asset_alias_asset.c.asset_id.in_(ids)).order_by(asset_alias.c.id)):
            aliases[r.asset_id].append({"id": r.id, "name": r.name, "group": r.group})
        newest = (select(asset_event.c.asset_id, func.max(asset_event.c.timestamp).label("ts"))
                  .where(asset_event.c.asset_id.in_(ids)).group_by(asset_event.c.asset_id).subquery())
        for r in conn.execute(select(asset_event.c.asset_id, func.max(asset_event.c.id).label("id"), newest.c.ts)
                              .join(newest, (newest.c.asset_id == asset_event.c.asset_id)
                                    & (newest.c.ts == asset_event.c.timestamp))
                              .group_by(asset_event.c.asset_id, newest.c.ts)):
            last[r.asset_id] = (r.id, r.ts)
    return [{
        "id": r.id, "name": r.name, "uri": r.uri, "group": r.group, "extra": r.extra,
        "created_at": iso(r.created_at), "updated_at": iso(r.updated_at),
        "scheduled_dags": scheduled[r.id], "producing_tasks": producing[r.id], "consuming_tasks": consuming[r.id],
        "aliases": aliases[r.id], "watchers": [],
        "last_asset_event": {"id": last[r.id][0], "timestamp": iso(last[r.id][1])} if r.id in last
        else {"id": None, "timestamp": None},
    } for r in rows]


def get_assets(services, request):
    q = Query(request)
    limit, offset = q.paging()
    only_active = q.bool("only_active", True)
    dag_ids = q.list("dag_ids")
    q.done()
    query = select(asset)
    if only_active:
        query = query.where(select(asset_active.c.name).where(asset_active.c.name == asset.c.name,
                                                              asset_active.c.uri == asset.c.uri).exists())
    for param, column in (("name_pattern", asset.c.name), ("uri_pattern", asset.c.uri)):
        if (cond := queries.like_any(column, q.str(param))) is not None:
            query = query.where(cond)
    if dag_ids:
        used = (select(dag_schedule_asset_reference.c.asset_id).where(dag_schedule_asset_reference.c.dag_id
                                                                       .in_(dag_ids))
                .union(select(task_outlet_asset_reference.c.asset_id)
                       .where(task_outlet_asset_reference.c.dag_id.in_(dag_ids))))
        query = query.where(asset.c.id.in_(used))
    query = queries.ordered(query, q.list("order_by"), _ASSET_ORDER, ["id"], tiebreak=asset.c.id)
    with services.engine.connect() as conn:
        rows, total = queries.page(conn, query, limit, offset)
        return {"assets": asset_bodies(conn, rows), "total_entries": total}


def get_asset(services, request):
    asset_id = path_int(request, "asset_id")
    with services.engine.connect() as conn:
        row = conn.execute(select(asset).where(asset.c.id == asset_id)).first()
        if row is None:
            raise not_found(f"The Asset with ID: `{asset_id}` was not found")
        return asset_bodies(conn, [row])[0]


def get_asset_aliases(services, request):
    q = Query(request)
    limit, offset = q.paging()
    q.done()
    query = select(asset_alias)
    if (cond := queries.like_any(asset_alias.c.name, q.str("name_pattern"))) is not None:
        query = query.where(cond)
    query = queries.ordered(query, q.list("order_by"), _ALIAS_ORDER, ["id"], tiebreak=asset_alias.c.id)
    with services.engine.connect() as conn:
        rows, total = queries.page(conn, query, limit, offset)
    return {"asset_aliases": [{"id": r.id, "name": r.name, "group": r.group} for r in rows], "total_entries": total}


def get_asset_alias(services, request):
    alias_id = path_int(request, "asset_alias_id")
    with services.engine.connect() as conn:
        row = conn.execute(select(asset_alias).where(asset_alias.c.id == alias_id)).first()
    if row is None:
        raise not_found(f"The Asset Alias with ID: `{alias_id}` was not found")
    return {"id": row.id, "name": row.name, "group": row.group}


def event_bodies(conn, rows) -> list[dict]:
    ids = [r.id for r in rows]
    assets = {a.id: a for a in conn.execute(select(asset).where(asset.c.id.in_({r.asset_id for r in rows})))}
    created: dict[int, list] = {i: [] for i in ids}
    if ids:
        for r in conn.execute(select(dagrun_asset_event.c.event_id, dag_run)
                              .join(dag_run, dag_run.c.id == dagrun_asset_event.c.dag_run_id)
                              .where(dagrun_asset_event.c.event_id.in_(ids))):
            created[r.event_id].append({
                "run_id": r.run_id, "dag_id": r.dag_id, "logical_date": iso(r.logical_date),
                "start_date": iso(r.start_date or r.queued_at or r.run_after), "end_date": iso(r.end_date),
                "state": r.state, "data_interval_start": iso(r.data_interval_start),
                "data_interval_end": iso(r.data_interval_end), "partition_key": None})
    out = []
    for r in rows:
        a = assets.get(r.asset_id)
        out.append({
            "id": r.id, "asset_id": r.asset_id, "uri": a.uri if a else None, "name": a.name if a else None,
            "group": a.group if a else None, "extra": r.extra, "source_task_id": r.source_task_id,
            "source_dag_id": r.source_dag_id, "source_run_id": r.source_run_id,
            "source_map_index": r.source_map_index if r.source_map_index is not None else -1,
            "created_dagruns": created[r.id], "timestamp": iso(r.timestamp), "partition_key": None,
        })
    return out


def get_asset_events(services, request):
    q = Query(request)
    limit, offset = q.paging()
    query = select(asset_event)
    if (value := q.int("asset_id")) is not None:
        query = query.where(asset_event.c.asset_id == value)
    for name in ("source_dag_id", "source_task_id", "source_run_id"):
        if (value := q.str(name)) is not None:
            query = query.where(asset_event.c[name] == value)
    if (value := q.int("source_map_index")) is not None:
        query = query.where(asset_event.c.source_map_index == value)
    if q.str("name_pattern"):
        names = select(asset.c.id).where(queries.like_any(asset.c.name, q.str("name_pattern")))
        query = query.where(asset_event.c.asset_id.in_(names))
    query = queries.date_range(q, query, asset_event, ["timestamp"])
    q.done()
    query = queries.ordered(query, q.list("order_by"), _EVENT_ORDER, ["timestamp"], tiebreak=asset_event.c.id)
    with services.engine.connect() as conn:
        rows, total = queries.page(conn, query, limit, offset)
        return {"asset_events": event_bodies(conn, rows), "total_entries": total}


def create_asset_event(services, request):
    data = json_body(request)
    f = common.body_fields(data, allowed={"asset_id", "extra", "partition_key"}, required={"asset_id"})
    asset_id = f.integer("asset_id", required=True)
    extra = f.dict("extra")
    f.text("partition_key")
    f.done()
    with services.engine.begin() as conn:
        common.record(conn, request, "create_asset_event", body=data)
    with services.engine.begin() as conn:
        if conn.execute(select(asset.c.id).where(asset.c.id == asset_id)).first() is None:
            raise not_found(f"Asset with ID: `{asset_id}` was not found")
        now = utcnow()
        event_id = conn.execute(asset_event.insert().values(
            asset_id=asset_id, extra={**(extra or {}), "from_rest_api": True}, timestamp=now,
            source_map_index=-1)).inserted_primary_key[0]
        # Every DAG scheduled on this asset now has an update to consume.
        targets = conn.execute(select(dag_schedule_asset_reference.c.dag_id)
                               .where(dag_schedule_asset_reference.c.asset_id == asset_id)).scalars().all()
        for dag_id in targets:
            present = conn.execute(select(asset_dag_run_queue.c.asset_id).where(
                asset_dag_run_queue.c.asset_id == asset_id, asset_dag_run_queue.c.target_dag_id == dag_id)).first()
            if present is None:
                conn.execute(asset_dag_run_queue.insert().values(asset_id=asset_id, target_dag_id=dag_id,
                                                                 created_at=now))
        row = conn.execute(select(asset_event).where(asset_event.c.id == event_id)).first()
        body = event_bodies(conn, [row])[0]
    for dag_id in targets:
        services.bus.notify_scheduler(kind="asset_event", dag_id=dag_id, asset_id=asset_id)
    return body


def _queue_filters(q: Query, asset_id: int):
    conds = [asset_dag_run_queue.c.asset_id == asset_id]
    if (before := q.datetime("before")) is not None:
        conds.append(asset_dag_run_queue.c.created_at < before)
    q.done()
    return conds


def get_asset_queued_events(services, request):
    asset_id = path_int(request, "asset_id")
    conds = _queue_filters(Query(request), asset_id)
    with services.engine.connect() as conn:
        rows = conn.execute(select(asset_dag_run_queue).where(*conds)
                            .order_by(asset_dag_run_queue.c.created_at, asset_dag_run_queue.c.target_dag_id)).all()
    events = [{"dag_id": r.target_dag_id, "asset_id": r.asset_id, "created_at": iso(r.created_at),
               "dag_display_name": r.target_dag_id} for r in rows]
    return {"queued_events": events, "total_entries": len(events)}


def delete_asset_queued_events(services, request):
    asset_id = path_int(request, "asset_id")
    conds = _queue_filters(Query(request), asset_id)
    with services.engine.begin() as conn:
        common.record(conn, request, "delete_asset_queued_events")
    with services.engine.begin() as conn:
        if conn.execute(delete(asset_dag_run_queue).where(*conds)).rowcount == 0:
            raise not_found(f"Queue event with asset_id: `{asset_id}` was not found")
    return common.no_content()


def materialize_asset(services, request):
    """Trigger a run of the one DAG that produces the asset (run type `asset_materialization`)."""
    asset_id = path_int(request, "asset_id")
    with services.engine.begin() as conn:
        common.record(conn, request, "materialize_asset")
    with services.engine.begin() as conn:
        producers = conn.execute(select(task_outlet_asset_reference.c.dag_id)
                                 .where(task_outlet_asset_reference.c.asset_id == asset_id)
                                 .group_by(task_outlet_asset_reference.c.dag_id).limit(2)).scalars().all()
        if not producers:
            raise not_found(f"No DAG materializes asset with ID: {asset_id}")
        if len(producers) > 1:
            raise HTTPError(409, f"More than one DAG materializes asset with ID: {asset_id}")
        dag_id = producers[0]
        latest = store_dags.latest_serialized(conn, dag_id)
        if latest is None or conn.execute(select(dag.c.is_stale).where(dag.c.dag_id == dag_id)).scalar():
            raise not_found(f"The Dag with ID: `{dag_id}` was not found")
        version_id, data = latest
        user = getattr(request.state, "user", None)
        created = store_runs.create_dag_run(
            conn, data, dag_version_id=version_id, run_type="asset_materialization", run_after=utcnow(),
            triggered_by="rest_api", triggering_user_name=getattr(user, "username", None))
        row = store_runs.get_run(conn, dag_id, created["run_id"])
        body = run_bodies(conn, [row])[0]
    services.bus.notify_scheduler(kind="run_created", dag_id=dag_id, run_id=row.run_id)
    return body


ROUTES = [
    ("/assets", ["GET"], get_assets),
    ("/assets/aliases", ["GET"], get_asset_aliases),
    ("/assets/aliases/{asset_alias_id}", ["GET"], get_asset_alias),
    ("/assets/events", ["GET"], get_asset_events),
    ("/assets/events", ["POST"], create_asset_event),
    ("/assets/{asset_id}/materialize", ["POST"], materialize_asset),
    ("/assets/{asset_id}/queuedEvents", ["GET"], get_asset_queued_events),
    ("/assets/{asset_id}/queuedEvents", ["DELETE"], delete_asset_queued_events),
    ("/assets/{asset_id}", ["GET"], get_asset),
]
