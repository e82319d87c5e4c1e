"""GET/PATCH /dags, /dags/{dag_id}, /dags/{dag_id}/details."""

from __future__ import annotations

from sqlalchemy import distinct, func, or_, select

from ..store import dags as store_dags
from ..store.tables import dag, dag_run, dag_tag
from . import queries, serializers
from .errors import HTTPError, not_found
from .validate import Body, Query, json_body

_ORDER = {
    "dag_id": dag.c.dag_id,
    "dag_display_name": dag.c.dag_id,
    "next_dagrun": dag.c.next_dagrun,
}


def dag_not_found(dag_id: str):
    return not_found(f"The Dag with ID: `{dag_id}` was not found")


def _token(secret: str, row) -> str:
    return serializers.file_token(secret, row.bundle_name, row.relative_fileloc)


def _bodies(services, conn, rows) -> list[dict]:
    tags = queries.tags_by_dag(conn, [r.dag_id for r in rows])
    secret = services.settings.secret("jwt")
    return [serializers.dag(r, tags[r.dag_id], _token(secret, r)) for r in rows]


def list_dags(services, request):
    q = Query(request)
    limit, offset = q.paging()
    tags = q.list("tags")
    mode = q.str("tags_match_mode") or "any"
    if mode not in ("any", "all"):
        q.fail("tags_match_mode", "Input should be 'any' or 'all'", mode, "literal_error",
               {"expected": "'any' or 'all'"})
    exclude_stale = q.bool("exclude_stale", True)
    if q.bool("only_active", None) is False:  # Airflow 2 spelling
        exclude_stale = False
    paused = q.bool("paused")
    has_import_errors = q.bool("has_import_errors")
    q.done()

    query = select(dag)
    if exclude_stale:
        query = query.where(dag.c.is_stale.is_(False))
    if paused is not None:
        query = query.where(dag.c.is_paused.is_(paused))
    if has_import_errors is not None:
        query = query.where(dag.c.has_import_errors.is_(has_import_errors))
    for pattern in (q.str("dag_id_pattern"), q.str("dag_display_name_pattern")):
        if (cond := queries.like_any(dag.c.dag_id, pattern)) is not None:
            query = query.where(cond)
    owners = q.list("owners")
    if owners:
        query = query.where(or_(*(dag.c.owners.ilike(f"%{o}%") for o in owners)))
    if tags:
        tagged = select(dag_tag.c.dag_id).where(dag_tag.c.name.in_(tags))
        if mode == "all":
            tagged = tagged.group_by(dag_tag.c.dag_id).having(func.count(distinct(dag_tag.c.name)) == len(set(tags)))
        query = query.where(dag.c.dag_id.in_(tagged))
    run_states = q.list("dag_run_state")
    if run_states:
        query = query.where(dag.c.dag_id.in_(select(dag_run.c.dag_id).where(dag_run.c.state.in_(run_states))))
    if q.str("bundle_name"):
        query = query.where(dag.c.bundle_name == q.str("bundle_name"))
    query = queries.ordered(query, q.list("order_by"), _ORDER, ["dag_id"])
    with services.engine.connect() as conn:
        rows, total = queries.page(conn, query, limit, offset)
        return {"dags": _bodies(services, conn, rows), "total_entries": total}


def get_dag(services, request):
    dag_id = request.path_params["dag_id"]
    with services.engine.connect() as conn:
        row = store_dags.get_dag(conn, dag_id)
        if row is None:
            raise dag_not_found(dag_id)
        return _bodies(services, conn, [row])[0]


def patch_dag(services, request):
    dag_id = request.path_params["dag_id"]
    q = Query(request)
    mask = q.list("update_mask")
    body = Body(json_body(request), allowed={"is_paused"}, required={"is_paused"})
    paused = body.bool("is_paused")
    body.done()
    if mask and mask != ["is_paused"]:
        raise HTTPError(400, "Only `is_paused` field can be updated through the REST API")
    with services.engine.begin() as conn:
        if store_dags.get_dag(conn, dag_id) is None:
            raise not_found(f"Dag with id: {dag_id} was not found")
        store_dags.set_paused(conn, dag_id, paused)
        row = store_dags.get_dag(conn, dag_id)
        result = _bodies(services, conn, [row])[0]
    if not paused:
        services.bus.notify_scheduler(kind="dag_unpaused", dag_id=dag_id)
    return result


def get_dag_details(services, request):
    dag_id = request.path_params["dag_id"]
    with services.engine.connect() as conn:
        row = store_dags.get_dag(conn, dag_id)
        latest = store_dags.latest_serialized(conn, dag_id) if row is not None else None
        if latest is None:
            raise dag_not_found(dag_id)
        _version_id, data = latest
        tags = queries.tags_by_dag(conn, [dag_id])[dag_id]
        return serializers.dag_details(
            row, tags, _token(services.settings.secret("jwt"), row), data=data,
            version=queries.latest_dag_version(conn, dag_id),
            last_parsed=queries.last_parsed(conn, dag_id),
            active_runs_count=queries.count_running_runs(conn, dag_id),
        )


ROUTES = [
    ("/dags", ["GET"], list_dags),
    ("/dags/{dag_id}", ["GET"], get_dag),
    ("/dags/{dag_id}", ["PATCH"], patch_dag),
    ("/dags/{dag_id}/details", ["GET"], get_dag_details),
]
