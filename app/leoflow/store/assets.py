"""asset*, dag_schedule_asset_*, task_*_asset_reference, asset_dag_run_queue, dagrun_asset_event.

What the DAG processor records about assets at parse time, the events tasks
emit at run time, and the queue of updates asset-scheduled DAGs have not yet
consumed. As in Airflow, an asset's name and its uri each resolve to exactly
one *active* asset: the first one written wins, a later asset that shares
either of them stays inactive (its tasks fail when they use it).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator

from sqlalchemy import and_, bindparam, delete, func, or_, select, update
from sqlalchemy.engine import Connection

from .tables import (
    asset,
    asset_active,
    asset_alias,
    asset_alias_asset,
    asset_alias_asset_event,
    asset_dag_run_queue,
    asset_event,
    dag,
    dag_run,
    dag_schedule_asset_alias_reference,
    dag_schedule_asset_reference,
    dagrun_asset_event,
    task_inlet_asset_reference,
    task_outlet_asset_reference,
)
from .types import utcnow

# Bumped on every asset event written in this process: the scheduler looks at the queue when it moved
# (and now and then regardless, for events another process wrote).
generation = 0

# --- walking the serialized document -------------------------------------------------------------


def expr_leaves(expr: dict | None) -> Iterator[dict]:
    """Every `{"asset": ...}` / `{"alias": ...}` leaf of an asset condition."""
    if not expr:
        return
    if "all" in expr or "any" in expr:
        for sub in expr.get("all") or expr.get("any") or []:
            yield from expr_leaves(sub)
    else:
        yield expr


def schedule_condition(serialized: dict) -> dict | None:
    """The asset condition of a DAG's schedule (assets, or assets-or-time), else None."""
    schedule = serialized.get("schedule") or {}
    if schedule.get("kind") == "assets":
        return schedule.get("value")
    if schedule.get("kind") == "asset_or_time":
        return schedule.get("assets")
    return None


def _asset_key(obj: dict) -> tuple[str, str] | None:
    name, uri = obj.get("name"), obj.get("uri")
    if name is None and uri is None:
        return None
    return (name if name is not None else uri, uri if uri is not None else name)


# --- parse time ------------------------------------------------------------------------------------


def ensure_asset(conn: Connection, name: str, uri: str, group: str = "asset", extra: dict | None = None,
                 now: dt.datetime | None = None) -> int:
    """The asset row's id, inserted if new; activated when its name and uri are both still free."""
    now = now or utcnow()
    row = conn.execute(select(asset.c.id, asset.c.extra, asset.c.group)
                       .where(asset.c.name == name, asset.c.uri == uri)).first()
    if row is None:
        asset_id = _insert_once(conn, asset.insert().values(
            name=name, uri=uri, group=group or "asset", extra=extra or {}, created_at=now, updated_at=now,
        ), select(asset.c.id).where(asset.c.name == name, asset.c.uri == uri))
    else:
        asset_id = row.id
        if (row.extra or {}) != (extra or {}) or row.group != (group or "asset"):
            conn.execute(update(asset).where(asset.c.id == asset_id).values(
                extra=extra or {}, group=group or "asset", updated_at=now))
    taken = conn.execute(select(asset_active.c.name, asset_active.c.uri).where(
        or_(asset_active.c.name == name, asset_active.c.uri == uri))).all()
    if not taken:
        _insert_once(conn, asset_active.insert().values(name=name, uri=uri), None)
    return asset_id


def _insert_once(conn: Connection, insert, lookup):
    """Insert, or — when another transaction inserted the same row first — read it back."""
    from sqlalchemy.exc import IntegrityError

    try:
        with conn.begin_nested():
            result = conn.execute(insert)
        return result.inserted_primary_key[0] if result.inserted_primary_key else None
    except IntegrityError:
        return conn.execute(lookup).scalar() if lookup is not None else None


def ensure_alias(conn: Connection, name: str, group: str = "asset") -> int:
    alias_id = conn.execute(select(asset_alias.c.id).where(asset_alias.c.name == name)).scalar()
    if alias_id is None:
        alias_id = _insert_once(conn, asset_alias.insert().values(name=name, group=group or "asset"),
                                select(asset_alias.c.id).where(asset_alias.c.name == name))
    return alias_id


def active_asset(conn: Connection, *, name: str | None = None, uri: str | None = None):
    """The active asset a name, a uri, or both resolve to (None when none is active)."""
    q = select(asset).join(asset_active, and_(asset_active.c.name == asset.c.name, asset_active.c.uri == asset.c.uri))
    if name is not None:
        q = q.where(asset.c.name == name)
    if uri is not None:
        q = q.where(asset.c.uri == uri)
    return conn.execute(q.limit(1)).first()


def is_active(conn: Connection, name: str, uri: str) -> bool:
    return conn.execute(select(func.count()).select_from(asset_active).where(
        asset_active.c.name == name, asset_active.c.uri == uri)).scalar() > 0


def _resolve_ref(conn: Connection, obj: dict) -> int | None:
    """Assets named by `Asset.ref(name=)` / `Asset.ref(uri=)` point at whichever active asset matches."""
    kind = obj.get("type")
    if kind == "asset_name_ref":
        row = active_asset(conn, name=obj["name"])
    elif kind == "asset_uri_ref":
        row = active_asset(conn, uri=obj["uri"])
    else:
        return None
    return row.id if row else None


def sync_dag_assets(conn: Connection, serialized: dict) -> None:
    """Record the assets a DAG declares and which of them schedule it or its tasks produce/consume."""
    now = utcnow()
    dag_id = serialized["dag_id"]
    condition = schedule_condition(serialized)
    sched_assets: set[int] = set()
    sched_aliases: set[int] = set()
    for leaf in expr_leaves(condition):
        if "asset" in leaf:
            a = leaf["asset"]
            key = _asset_key(a)
            if key:
                sched_assets.add(ensure_asset(conn, key[0], key[1], a.get("group") or "asset", a.get("extra"), now))
        elif "alias" in leaf:
            sched_aliases.add(ensure_alias(conn, leaf["alias"]["name"], leaf["alias"].get("group") or "asset"))
        elif "asset_ref" in leaf or leaf.get("type") in ("asset_name_ref", "asset_uri_ref"):
            ref = leaf.get("asset_ref") or leaf
            found = _resolve_ref(conn, ref)
            if found:
                sched_assets.add(found)

    outlets: set[tuple[int, str]] = set()
    inlets: set[tuple[int, str]] = set()
    for task in serialized.get("tasks", []):
        for kind, target in (("outlets", outlets), ("inlets", inlets)):
            for obj in task.get(kind) or []:
                if obj.get("type") == "asset":
                    key = _asset_key(obj)
                    if key:
                        target.add((ensure_asset(conn, key[0], key[1], obj.get("group") or "asset",
                                                 obj.get("extra"), now), task["task_id"]))
                elif obj.get("type") == "asset_alias":
                    ensure_alias(conn, obj["name"], obj.get("group") or "asset")
                else:
                    found = _resolve_ref(conn, obj)
                    if found:
                        target.add((found, task["task_id"]))

    _replace_refs(conn, dag_schedule_asset_reference, dag_id, [{"asset_id": a} for a in sched_assets], now)
    _replace_refs(conn, dag_schedule_asset_alias_reference, dag_id, [{"alias_id": a} for a in sched_aliases], now)
    _replace_refs(conn, task_outlet_asset_reference, dag_id,
                  [{"asset_id": a, "task_id": t} for a, t in outlets], now)
    _replace_refs(conn, task_inlet_asset_reference, dag_id,
                  [{"asset_id": a, "task_id": t} for a, t in inlets], now)
    conn.execute(update(dag).where(dag.c.dag_id == dag_id).values(
        asset_expression=condition, timetable_type=serialized.get("timetable_type")))


def _replace_refs(conn: Connection, table, dag_id: str, rows: list[dict], now: dt.datetime) -> None:
    conn.execute(delete(table).where(table.c.dag_id == dag_id))
    if rows:
        conn.execute(table.insert(), [{**r, "dag_id": dag_id, "created_at": now, "updated_at": now} for r in rows])


def drop_dag_references(conn: Connection, dag_ids: Iterable[str]) -> None:
    """A stale DAG neither waits for assets nor is queued for them."""
    ids = list(dag_ids)
    if not ids:
        return
    for table in (dag_schedule_asset_reference, dag_schedule_asset_alias_reference,
                  task_outlet_asset_reference, task_inlet_asset_reference):
        conn.execute(delete(table).where(table.c.dag_id.in_(ids)))
    conn.execute(delete(asset_dag_run_queue).where(asset_dag_run_queue.c.target_dag_id.in_(ids)))


# --- run time: events ------------------------------------------------------------------------------


def record_event(conn: Connection, asset_id: int, *, extra: dict | None = None, source: dict | None = None,
                 alias_names: Iterable[str] = (), now: dt.datetime | None = None) -> int:
    """Write one asset event and queue it for every unpaused DAG scheduled on the asset or an alias."""
    global generation
    generation += 1
    now = now or utcnow()
    source = source or {}
    event_id = conn.execute(asset_event.insert().values(
        asset_id=asset_id, extra=extra or {}, timestamp=now,
        source_task_id=source.get("task_id"), source_dag_id=source.get("dag_id"),
        source_run_id=source.get("run_id"), source_map_index=source.get("map_index", -1),
    )).inserted_primary_key[0]
    targets = set(conn.execute(
        select(dag_schedule_asset_reference.c.dag_id)
        .join(dag, dag.c.dag_id == dag_schedule_asset_reference.c.dag_id)
        .where(dag_schedule_asset_reference.c.asset_id == asset_id, dag.c.is_paused.is_(False),
               dag.c.is_stale.is_(False))).scalars())
    for alias_name in sorted(set(alias_names)):
        alias_id = ensure_alias(conn, alias_name)
        if conn.execute(select(func.count()).select_from(asset_alias_asset).where(
                asset_alias_asset.c.alias_id == alias_id, asset_alias_asset.c.asset_id == asset_id)).scalar() == 0:
            conn.execute(asset_alias_asset.insert().values(alias_id=alias_id, asset_id=asset_id))
        conn.execute(asset_alias_asset_event.insert().values(alias_id=alias_id, event_id=event_id))
        targets |= set(conn.execute(
            select(dag_schedule_asset_alias_reference.c.dag_id)
            .join(dag, dag.c.dag_id == dag_schedule_asset_alias_reference.c.dag_id)
            .where(dag_schedule_asset_alias_reference.c.alias_id == alias_id, dag.c.is_paused.is_(False),
                   dag.c.is_stale.is_(False))).scalars())
    for target in sorted(targets):
        queued = conn.execute(select(func.count()).select_from(asset_dag_run_queue).where(
            asset_dag_run_queue.c.asset_id == asset_id, asset_dag_run_queue.c.target_dag_id == target)).scalar()
        if not queued:
            conn.execute(asset_dag_run_queue.insert().values(asset_id=asset_id, target_dag_id=target, created_at=now))
    return event_id


def register_outlet_events(conn: Connection, ti, task_outlets: list[dict], outlet_events: list[dict]) -> list[int]:
    """A successful task's outlets become asset events, as Airflow's task runner reports them.

    `task_outlets` are AssetProfiles (`{"name", "uri", "type": "Asset"|"AssetNameRef"|"AssetUriRef"|"AssetAlias"}`);
    `outlet_events` carry extras (`{"dest_asset_key": {"name","uri"}, "extra"}`) and alias events
    (`{"source_alias_name", "dest_asset_key", "dest_asset_extra", "extra"}`). Inactive assets are left out.
    """
    source = {"task_id": ti.task_id, "dag_id": ti.dag_id, "run_id": ti.run_id, "map_index": ti.map_index}
    extras: dict[tuple[str, str], dict] = {}
    for ev in outlet_events or []:
        if "source_alias_name" not in ev and isinstance(ev.get("dest_asset_key"), dict):
            k = ev["dest_asset_key"]
            extras[(k.get("name"), k.get("uri"))] = ev.get("extra") or {}
    written: list[int] = []
    done: set[int] = set()
    for profile in task_outlets or []:
        kind = profile.get("type")
        if kind == "Asset":
            row = active_asset(conn, name=profile.get("name"), uri=profile.get("uri"))
            key = (profile.get("name"), profile.get("uri"))
        elif kind == "AssetNameRef":
            row = active_asset(conn, name=profile.get("name"))
            key = (row.name, row.uri) if row else None
        elif kind == "AssetUriRef":
            row = active_asset(conn, uri=profile.get("uri"))
            key = (row.name, row.uri) if row else None
        else:
            continue
        if row is None or row.id in done:
            continue
        done.add(row.id)
        written.append(record_event(conn, row.id, extra=extras.get(key, {}), source=source))

    alias_names = {p.get("name") for p in task_outlets or [] if p.get("type") == "AssetAlias"}
    grouped: dict[tuple[str, str, str, str], set[str]] = {}
    for ev in outlet_events or []:
        alias = ev.get("source_alias_name")
        if alias is None or alias not in alias_names:
            continue
        k = ev.get("dest_asset_key") or {}
        group_key = (k.get("name"), k.get("uri"), json.dumps(ev.get("dest_asset_extra") or {}, sort_keys=True),
                     json.dumps(ev.get("extra") or {}, sort_keys=True))
        grouped.setdefault(group_key, set()).add(alias)
    for (name, uri, asset_extra, event_extra), aliases in grouped.items():
        # An alias may name an asset no DAG declared: it is created on the fly, as Airflow does.
        asset_id = ensure_asset(conn, name, uri, "asset", json.loads(asset_extra))
        written.append(record_event(conn, asset_id, extra=json.loads(event_extra), source=source,
                                    alias_names=aliases))
    return written


def _event_query():
    return (select(asset_event, asset.c.name, asset.c.uri, asset.c.group, asset.c.extra.label("asset_extra"))
            .join(asset, asset.c.id == asset_event.c.asset_id))


def events_by_asset(conn: Connection, *, name: str | None = None, uri: str | None = None,
                    after: dt.datetime | None = None, before: dt.datetime | None = None,
                    ascending: bool = True, limit: int | None = None) -> list:
    q = _event_query()
    if name is not None:
        q = q.where(asset.c.name == name)
    if uri is not None:
        q = q.where(asset.c.uri == uri)
    if name is None or uri is None:  # one key alone means the active asset it resolves to
        q = q.join(asset_active, and_(asset_active.c.name == asset.c.name, asset_active.c.uri == asset.c.uri))
    return _finish(conn, q, after, before, ascending, limit)


def events_by_alias(conn: Connection, name: str, *, after=None, before=None, ascending: bool = True,
                    limit: int | None = None) -> list:
    q = (_event_query()
         .join(asset_alias_asset_event, asset_alias_asset_event.c.event_id == asset_event.c.id)
         .join(asset_alias, asset_alias.c.id == asset_alias_asset_event.c.alias_id)
         .where(asset_alias.c.name == name))
    return _finish(conn, q, after, before, ascending, limit)


def _finish(conn, q, after, before, ascending, limit):
    if after is not None:
        q = q.where(asset_event.c.timestamp >= after)
    if before is not None:
        q = q.where(asset_event.c.timestamp <= before)
    order = asset_event.c.timestamp.asc() if ascending else asset_event.c.timestamp.desc()
    q = q.order_by(order, asset_event.c.id.asc() if ascending else asset_event.c.id.desc())
    if limit:
        q = q.limit(limit)
    return conn.execute(q).all()


def aliases_of_events(conn: Connection, event_ids: list[int]) -> dict[int, list[dict]]:
    if not event_ids:
        return {}
    rows = conn.execute(select(asset_alias_asset_event.c.event_id, asset_alias.c.name, asset_alias.c.group)
                        .join(asset_alias, asset_alias.c.id == asset_alias_asset_event.c.alias_id)
                        .where(asset_alias_asset_event.c.event_id.in_(event_ids))).all()
    found: dict[int, list[dict]] = {}
    for r in rows:
        found.setdefault(r.event_id, []).append({"name": r.name, "group": r.group})
    return found


def runs_created_by_events(conn: Connection, event_ids: list[int]) -> dict[int, list]:
    if not event_ids:
        return {}
    rows = conn.execute(select(dagrun_asset_event.c.event_id, dag_run)
                        .join(dag_run, dag_run.c.id == dagrun_asset_event.c.dag_run_id)
                        .where(dagrun_asset_event.c.event_id.in_(event_ids))).all()
    found: dict[int, list] = {}
    for r in rows:
        found.setdefault(r.event_id, []).append(r)
    return found


_CONSUMED = None  # built on first use (every task start asks), not at import


def consumed_events(conn: Connection, dag_run_pk: int) -> list:
    """The events that triggered a run (its `triggering_asset_events`), oldest first."""
    global _CONSUMED
    if _CONSUMED is None:
        _CONSUMED = (_event_query().join(dagrun_asset_event, dagrun_asset_event.c.event_id == asset_event.c.id)
                     .where(dagrun_asset_event.c.dag_run_id == bindparam("dag_run_pk"))
                     .order_by(asset_event.c.timestamp, asset_event.c.id))
    return conn.execute(_CONSUMED, {"dag_run_pk": dag_run_pk}).all()


# --- the queue asset-scheduled DAGs read -----------------------------------------------------------


def queued_dag_ids(conn: Connection) -> list[str]:
    return list(conn.execute(select(asset_dag_run_queue.c.target_dag_id).distinct()).scalars())


def queue_of(conn: Connection, dag_id: str) -> list:
    """(asset_id, name, uri, created_at) rows the DAG has not consumed yet."""
    return conn.execute(
        select(asset_dag_run_queue.c.asset_id, asset_dag_run_queue.c.created_at, asset.c.name, asset.c.uri)
        .join(asset, asset.c.id == asset_dag_run_queue.c.asset_id)
        .where(asset_dag_run_queue.c.target_dag_id == dag_id)).all()


def alias_assets(conn: Connection, alias_name: str) -> set[tuple[str, str]]:
    """The (name, uri) of every asset an alias has resolved to so far."""
    return {(r.name, r.uri) for r in conn.execute(
        select(asset.c.name, asset.c.uri)
        .join(asset_alias_asset, asset_alias_asset.c.asset_id == asset.c.id)
        .join(asset_alias, asset_alias.c.id == asset_alias_asset.c.alias_id)
        .where(asset_alias.c.name == alias_name)).all()}


def consume_queue(conn: Connection, dag_id: str, asset_ids: list[int], dag_run_pk: int,
                  since: dt.datetime | None, until: dt.datetime) -> int:
    """Link the events that triggered a run to it and clear the DAG's queue for those assets."""
    q = select(asset_event.c.id).where(asset_event.c.asset_id.in_(asset_ids), asset_event.c.timestamp <= until)
    if since is not None:
        q = q.where(asset_event.c.timestamp > since)
    event_ids = list(conn.execute(q).scalars())
    if event_ids:
        conn.execute(dagrun_asset_event.insert(), [{"dag_run_id": dag_run_pk, "event_id": e} for e in event_ids])
    conn.execute(delete(asset_dag_run_queue).where(
        asset_dag_run_queue.c.target_dag_id == dag_id, asset_dag_run_queue.c.asset_id.in_(asset_ids)))
    return len(event_ids)


def last_asset_run_date(conn: Connection, dag_id: str) -> dt.datetime | None:
    """When the DAG's previous asset-triggered run was created: events before it were consumed."""
    return conn.execute(select(func.max(dag_run.c.run_after)).where(
        dag_run.c.dag_id == dag_id, dag_run.c.run_type == "asset_triggered")).scalar()
