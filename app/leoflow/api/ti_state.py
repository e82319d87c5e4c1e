"""Marking task instances (state and note), one, dry-run, or in bulk; the mapped-index routes.

Marking a task `success` clears its failed and upstream_failed downstream tasks in the same
run so the run resumes, as Airflow does; `include_*` extend the marking across the graph and
across earlier/later runs.
"""

from __future__ import annotations

from sqlalchemy import update

from ..store import dags as store_dags
from ..store.tables import dag_run, task_instance
from ..store.types import utcnow
from . import actions, clearing
from . import admin_common as common
from .errors import HTTPError, not_found
from .task_instances import one_ti, ti_bodies, ti_not_found
from .validate import Body, Query, json_body, path_int

MARKABLE = ["success", "failed", "skipped"]
_FLAGS = ("include_upstream", "include_downstream", "include_future", "include_past")
PATCH_FIELDS = {"new_state", "note", *_FLAGS}


class Change:
    """A validated PatchTaskInstanceBody (or one entity of a bulk update)."""

    def __init__(self, body: Body, mask: list[str] | None):
        self.new_state = body.choice("new_state", MARKABLE)
        self.note = body.str("note", max_length=1000)  # as Airflow's PatchTaskInstanceBody
        self.flags = {f: body.flag(f, False) for f in _FLAGS}
        # The mask narrows the fields the body sets (Airflow intersects the two).
        self.fields = [f for f in ("new_state", "note") if f in body.data and (not mask or f in mask)]
        for name in mask or []:
            if name not in ("new_state", "note"):
                body.fail("update_mask", f"Invalid field `{name}` in update mask", name, "value_error")


def _serialized(conn, dag_id):
    found = store_dags.latest_serialized(conn, dag_id)
    return found[1] if found else {}


def apply(conn, dag_id: str, run_id: str, task_id: str, map_index: int | None, change: Change, *,
          dry_run: bool) -> list:
    """Rows (before any change when dry) of the task instances the change touches."""
    serialized = _serialized(conn, dag_id)
    if not any(t["task_id"] == task_id for t in serialized.get("tasks", [])):
        raise not_found(f"Task '{task_id}' not found in DAG '{dag_id}'")
    targets = clearing.select_tis(conn, dag_id, run_filter=dag_run.c.run_id == run_id,
                                  tasks=[task_id] if map_index is None else [(task_id, map_index)])
    if not targets:
        raise ti_not_found(dag_id, run_id, task_id, -1 if map_index is None else map_index)
    touched = {t.id: t for t in targets}
    if "new_state" in change.fields and change.new_state:
        f = change.flags
        tasks = clearing.relatives(serialized, [task_id], upstream=f["include_upstream"],
                                   downstream=f["include_downstream"])
        window = clearing.run_window(conn, dag_id, run_id, past=f["include_past"], future=f["include_future"])
        # The instance itself, its graph relatives, in this run and (past/future) in the others.
        markers = [task_id if map_index is None else (task_id, map_index), *sorted(tasks - {task_id})]
        reached = clearing.select_tis(conn, dag_id, run_filter=window, tasks=markers)
        marked = {r.id: r for r in reached if r.state != change.new_state}
        if dry_run:
            return list(marked.values())
        if not marked:
            raise HTTPError(409, f"Task id {task_id} is already in {change.new_state} state")
        now = utcnow()
        for row in marked.values():
            conn.execute(update(task_instance).where(task_instance.c.id == row.id).values(
                state=change.new_state, start_date=row.start_date or now, end_date=now, updated_at=now,
                duration=(now - row.start_date).total_seconds() if row.start_date else 0.0))
        if change.new_state == "success":
            below = clearing.relatives(serialized, [task_id], upstream=False, downstream=True) - {task_id}
            failed = clearing.select_tis(conn, dag_id, run_filter=dag_run.c.run_id == run_id, tasks=sorted(below),
                                         states=list(clearing.FAILED_STATES)) if below else []
            clearing.clear(conn, failed, serialized)
        touched = marked or touched
    elif dry_run:
        return targets
    if "note" in change.fields and not dry_run:
        conn.execute(update(task_instance).where(task_instance.c.id.in_([t.id for t in targets]))
                     .values(note=change.note, updated_at=utcnow()))
        touched.update({t.id: t for t in targets})
    return list(touched.values())


def _patch(services, request, map_index: int | None, *, dry_run: bool):
    p = request.path_params
    dag_id, run_id, task_id = p["dag_id"], p["dag_run_id"], p["task_id"]
    q = Query(request)
    if map_index is None and q.has("map_index"):
        map_index = q.int("map_index", None, ge=-1)
    mask = q.list("update_mask")
    q.done()
    body = Body(json_body(request), allowed=PATCH_FIELDS)
    change = Change(body, mask)
    body.done()
    with services.engine.begin() as conn:
        rows = apply(conn, dag_id, run_id, task_id, map_index, change, dry_run=dry_run)
        if not dry_run:
            actions.record(conn, request, "patch_task_instance", dag_id=dag_id, run_id=run_id, task_id=task_id,
                           map_index=map_index)
        fresh = rows if dry_run else clearing.select_tis(
            conn, dag_id, tasks=None, run_filter=task_instance.c.id.in_([r.id for r in rows]))
        result = {"task_instances": ti_bodies(conn, fresh), "total_entries": len(fresh)}
    if not dry_run:
        for run in {r.run_id for r in rows}:
            services.bus.notify_scheduler(kind="run_changed", dag_id=dag_id, run_id=run)
    return result


def patch_ti(services, request):
    return _patch(services, request, None, dry_run=False)


def patch_ti_dry_run(services, request):
    return _patch(services, request, None, dry_run=True)


def patch_mapped(services, request):
    return _patch(services, request, path_int(request, "map_index"), dry_run=False)


def patch_mapped_dry_run(services, request):
    return _patch(services, request, path_int(request, "map_index"), dry_run=True)


def get_mapped(services, request):
    p = request.path_params
    map_index = path_int(request, "map_index")
    try:
        return one_ti(services, p["dag_id"], p["dag_run_id"], p["task_id"], map_index)
    except HTTPError as exc:
        if exc.status != 404:
            raise
        raise not_found(f"The Mapped Task Instance with dag_id: `{p['dag_id']}`, run_id: `{p['dag_run_id']}`, "
                        f"task_id: `{p['task_id']}`, and map_index: `{map_index}` was not found")


_ENTITY_FIELDS = PATCH_FIELDS | {"task_id", "map_index", "dag_id", "dag_run_id"}


def _check_entity(data, where, errors: list) -> dict:
    """The shape of one BulkTaskInstanceBody (its values are checked where they are applied)."""
    f = common.body_fields(data, allowed=_ENTITY_FIELDS, required={"task_id"}, where=where)
    f.text("task_id", required=True)
    f.text("dag_id")
    f.text("dag_run_id")
    f.integer("map_index")
    errors.extend(f.errors)
    return data if isinstance(data, dict) else {}


def bulk(services, request):
    """PATCH .../taskInstances: `actions` of update (mark/note) and delete; create is refused per entity."""
    from sqlalchemy import delete

    from ..store.tables import rendered_task_instance_fields, task_instance_history, xcom
    from .task_instances import find_ti

    p = request.path_params
    # The body's shape (BulkBody[BulkTaskInstanceBody]: no unknown properties) is checked as a whole first.
    checked = common.read_bulk(request, _check_entity)
    result: dict = {}
    with services.engine.begin() as conn:
        for action in checked:
            kind, entities, mask = action["action"], action["entities"], action["update_mask"]
            outcome = result.setdefault(kind, {"success": [], "errors": []})
            skip_missing = action["mode"] == "skip"
            if kind == "create":
                outcome["errors"].append({"error": "Task instances bulk create is not supported",
                                          "status_code": 405})
                continue
            for entity in entities:
                if isinstance(entity, str):
                    entity = {"task_id": entity}
                one = Body(entity, allowed=_ENTITY_FIELDS, required={"task_id"})
                change = Change(one, mask)
                map_index = one.int("map_index")
                dag_id = one.str("dag_id") or p["dag_id"]
                run_id = one.str("dag_run_id") or p["dag_run_id"]
                task_id = one.str("task_id")
                if one.errors:
                    outcome["errors"].append({"error": one.errors, "status_code": 422})
                    continue
                try:
                    if kind == "update":
                        touched = apply(conn, dag_id, run_id, task_id, map_index, change, dry_run=False)
                        indexes = sorted({t.map_index for t in touched if t.task_id == task_id}) or [map_index]
                        outcome["success"] += [f"{dag_id}.{run_id}.{task_id}[{i}]" for i in indexes]
                    else:
                        index = -1 if map_index is None else map_index
                        row = find_ti(conn, dag_id, run_id, task_id, index)
                        if row is None:
                            raise ti_not_found(dag_id, run_id, task_id, index)
                        for table in (xcom, rendered_task_instance_fields, task_instance_history):
                            conn.execute(delete(table).where(
                                table.c.dag_id == dag_id, table.c.run_id == run_id, table.c.task_id == task_id,
                                table.c.map_index == index))
                        conn.execute(delete(task_instance).where(task_instance.c.id == row.id))
                        outcome["success"].append(f"{dag_id}.{run_id}.{task_id}[{index}]")
                except HTTPError as exc:
                    if exc.status == 404 and skip_missing:
                        continue
                    outcome["errors"].append({"error": str(exc.detail), "status_code": exc.status})
        actions.record(conn, request, "bulk_task_instances", dag_id=p["dag_id"], run_id=p["dag_run_id"])
    services.bus.notify_scheduler(kind="run_changed", dag_id=p["dag_id"], run_id=p["dag_run_id"])
    return result


_TI = "/dags/{dag_id}/dagRuns/{dag_run_id}/taskInstances"

# Literal segments first: `{map_index}` would otherwise swallow `dry_run`.
ROUTES = [
    (_TI, ["PATCH"], bulk),
    (_TI + "/{task_id}", ["PATCH"], patch_ti),
    (_TI + "/{task_id}/dry_run", ["PATCH"], patch_ti_dry_run),
    (_TI + "/{task_id}/{map_index}/dry_run", ["PATCH"], patch_mapped_dry_run),
]

# Registered after every other family: `/{task_id}/{map_index}` matches any two segments.
MAPPED_ROUTES = [
    (_TI + "/{task_id}/{map_index}", ["GET"], get_mapped),
    (_TI + "/{task_id}/{map_index}", ["PATCH"], patch_mapped),
]
