"""/pools: CRUD and bulk; counts of the slots task instances hold. `default_pool` cannot be deleted or renamed."""

from __future__ import annotations

import json

from sqlalchemy import delete, select, update

from ..store import pools as store
from ..store.tables import slot_pool
from . import admin_common as common
from . import queries
from .errors import HTTPError, ValidationFailed, not_found
from .validate import Query, json_body

_ORDER = {"id": slot_pool.c.id, "pool": slot_pool.c.pool, "name": slot_pool.c.pool}
_BODY = {"name", "slots", "description", "include_deferred", "team_name"}
_PATCH = {"pool", "name", "slots", "description", "include_deferred", "team_name"}


def serialize(row, used: dict) -> dict:
    held = used.get(row.pool, {})
    running, queued = held.get("running", 0), held.get("queued", 0)
    deferred = held.get("deferred", 0)
    occupied = running + queued + (deferred if row.include_deferred else 0)
    return {
        "name": row.pool,
        "slots": row.slots,
        "description": row.description,
        "include_deferred": bool(row.include_deferred),
        "occupied_slots": occupied,
        "running_slots": running,
        "queued_slots": queued,
        "scheduled_slots": held.get("scheduled", 0),
        "open_slots": -1 if row.slots == -1 else row.slots - occupied,  # -1 slots: unlimited
        "deferred_slots": deferred,
        "team_name": None,
    }


def check_entity(data, where, errors: list, *, patch: bool = False) -> dict:
    f = common.body_fields(data, allowed=_PATCH if patch else _BODY,
                           required=set() if patch else {"name", "slots"}, where=where)
    for name in ("name", "pool"):
        f.text(name, required=not patch, max_length=256)
    f.integer("slots", required=not patch, ge=-1)
    f.text("description")
    f.text("team_name", max_length=50)
    f.boolean("include_deferred")
    errors.extend(f.errors)
    return data if isinstance(data, dict) else {}


def _read(request, *, patch=False) -> dict:
    errors: list = []
    data = check_entity(json_body(request), ["body"], errors, patch=patch)
    if errors:
        raise ValidationFailed(errors)
    return data


def _get(conn, name):
    return conn.execute(select(slot_pool).where(slot_pool.c.pool == name)).first()


def get_pools(services, request):
    q = Query(request)
    limit, offset = q.paging()
    q.done()
    query = select(slot_pool)
    if (cond := queries.like_any(slot_pool.c.pool, q.str("pool_name_pattern"))) is not None:
        query = query.where(cond)
    query = queries.ordered(query, q.list("order_by"), _ORDER, ["id"], tiebreak=slot_pool.c.id)
    with services.engine.connect() as conn:
        rows, total = queries.page(conn, query, limit, offset)
        used = store.slots_in_use(conn)
    return {"pools": [serialize(r, used) for r in rows], "total_entries": total}


def get_pool(services, request):
    name = request.path_params["pool_name"]
    with services.engine.connect() as conn:
        row = _get(conn, name)
        used = store.slots_in_use(conn)
    if row is None:
        raise not_found(f"The Pool with name: `{name}` was not found")
    return serialize(row, used)


def _insert(conn, data):
    conn.execute(slot_pool.insert().values(pool=data["name"], slots=data["slots"],
                                           description=data.get("description"),
                                           include_deferred=bool(data.get("include_deferred", False))))


def post_pool(services, request):
    data = _read(request)
    with services.engine.begin() as conn:
        common.record(conn, request, "post_pool", body=data)
    with services.engine.begin() as conn:
        if _get(conn, data["name"]) is not None:
            raise HTTPError(409, f"The Pool with name: `{data['name']}` already exists")
        _insert(conn, data)
        row = _get(conn, data["name"])
        used = store.slots_in_use(conn)
    return serialize(row, used), 201


def _apply_patch(conn, name: str, data: dict, update_mask) -> str:
    """Update one pool; the pool's name afterwards."""
    row = _get(conn, name)
    if row is None:
        raise not_found(f"The Pool with name: `{name}` was not found")
    data = dict(data)
    if "name" in data and "pool" not in data:
        data["pool"] = data.pop("name")
    data.pop("name", None)
    data.pop("team_name", None)
    if name == store.DEFAULT_POOL:
        if not update_mask or not all(m.strip() in {"slots", "include_deferred"} for m in update_mask):
            raise HTTPError(400, "Only slots and included_deferred can be modified on Default Pool")
    fields = set(data)
    if update_mask:
        fields &= {m.strip() if m.strip() != "name" else "pool" for m in update_mask}
    values = {k: data[k] for k in fields if k in ("pool", "slots", "description", "include_deferred")}
    for key in ("pool", "slots", "include_deferred"):
        if key in values and values[key] is None:
            raise ValidationFailed([{"type": "missing", "loc": ["body", "name" if key == "pool" else key],
                                     "msg": "Field may not be null", "input": None}])
    if "pool" in values and values["pool"] != name and _get(conn, values["pool"]) is not None:
        raise HTTPError(409, f"The Pool with name: `{values['pool']}` already exists")
    if values:
        conn.execute(update(slot_pool).where(slot_pool.c.pool == name).values(**values))
    return values.get("pool", name)


def patch_pool(services, request):
    name = request.path_params["pool_name"]
    q = Query(request)
    mask = q.list("update_mask") or None
    q.done()
    data = _read(request, patch=True)
    with services.engine.begin() as conn:
        common.record(conn, request, "patch_pool", body=data)
    with services.engine.begin() as conn:
        new_name = _apply_patch(conn, name, data, mask)
        row = _get(conn, new_name)
        used = store.slots_in_use(conn)
    return serialize(row, used)


def delete_pool(services, request):
    name = request.path_params["pool_name"]
    with services.engine.begin() as conn:
        common.record(conn, request, "delete_pool")
    if name == store.DEFAULT_POOL:
        raise HTTPError(400, "Default Pool can't be deleted")
    with services.engine.begin() as conn:
        if conn.execute(delete(slot_pool).where(slot_pool.c.pool == name)).rowcount == 0:
            raise not_found(f"The Pool with name: `{name}` was not found")
    return common.no_content()


def bulk_pools(services, request):
    actions = common.read_bulk(request, check_entity)
    with services.engine.begin() as conn:
        common.record(conn, request, "bulk_pools", body=json.loads(request.state.body))

    def existing(conn, names):
        return set(conn.execute(select(slot_pool.c.pool).where(slot_pool.c.pool.in_(list(names)))).scalars())

    def create(conn, action, results):
        names = [e["name"] for e in action["entities"]]
        found = existing(conn, names)
        if action["mode"] == "fail" and found:
            raise common.BulkError(409, f"The pools with these pool names: {common.py_set(found)} already "
                                        f"exist.")
        for entity in action["entities"]:
            if entity["name"] in found:
                if action["mode"] == "skip":
                    continue
                conn.execute(update(slot_pool).where(slot_pool.c.pool == entity["name"]).values(
                    slots=entity["slots"], description=entity.get("description"),
                    include_deferred=bool(entity.get("include_deferred", False))))
            else:
                _insert(conn, entity)
            results["success"].append(entity["name"])

    def update_(conn, action, results):
        names = [e["name"] for e in action["entities"]]
        missing = set(names) - existing(conn, names)
        if action["mode"] == "fail" and missing:
            raise common.BulkError(404, f"The pools with these pool names: {common.py_set(missing)} were not "
                                        f"found.")
        for entity in action["entities"]:
            if entity["name"] not in missing:
                _apply_patch(conn, entity["name"], entity, action["update_mask"])
                results["success"].append(entity["name"])

    def delete_(conn, action, results):
        names = [e if isinstance(e, str) else e.get("name") for e in action["entities"]]
        if store.DEFAULT_POOL in names:
            raise common.BulkError(400, "Default Pool can't be deleted")
        missing = set(names) - existing(conn, names)
        if action["mode"] == "fail" and missing:
            raise common.BulkError(404, f"The pools with these pool names: {common.py_set(missing)} were not "
                                        f"found.")
        for name in names:
            if name not in missing:
                conn.execute(delete(slot_pool).where(slot_pool.c.pool == name))
                results["success"].append(name)

    return common.run_bulk(services, actions, {"create": create, "update": update_, "delete": delete_})


ROUTES = [
    ("/pools", ["GET"], get_pools),
    ("/pools", ["POST"], post_pool),
    ("/pools", ["PATCH"], bulk_pools),
    ("/pools/{pool_name}", ["GET"], get_pool),
    ("/pools/{pool_name}", ["PATCH"], patch_pool),
    ("/pools/{pool_name}", ["DELETE"], delete_pool),
]
