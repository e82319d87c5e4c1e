"""GET/PATCH/DELETE /dags, /dags/{dag_id}, /dags/{dag_id}/details, favorites."""

from __future__ import annotations

from sqlalchemy import delete, distinct, func, or_, select, update
from starlette.responses import Response

from ..store import dags as store_dags
from ..store.tables import (
    asset,
    dag,
    dag_code,
    dag_favorite,
    dag_run,
    dag_schedule_asset_alias_reference,
    dag_schedule_asset_reference,
    dag_tag,
    dag_version,
    dag_warning,
    import_error,
    rendered_task_instance_fields,
    serialized_dag,
    task_instance,
    task_outlet_asset_reference,
    task_instance_history,
    xcom,
)
from . import actions, queries, serializers
from .errors import HTTPError, not_found
from .validate import Body, Query, json_body

RUN_STATES = ("queued", "running", "success", "failed")

# The newest run of each DAG, for `last_dag_run_state` and the `last_run_*` orderings.
_LAST_RUN_ID = (select(func.max(dag_run.c.id)).where(dag_run.c.dag_id == dag.c.dag_id)
                .correlate(dag).scalar_subquery())
_LAST_RUN_STATE = select(dag_run.c.state).where(dag_run.c.id == _LAST_RUN_ID).correlate(dag).scalar_subquery()
_LAST_RUN_START = (select(dag_run.c.start_date).where(dag_run.c.id == _LAST_RUN_ID)
                   .correlate(dag).scalar_subquery())

_ORDER = {
    "dag_id": dag.c.dag_id,
    "dag_display_name": func.coalesce(dag.c.dag_display_name, dag.c.dag_id),
    "next_dagrun": dag.c.next_dagrun,
    "state": _LAST_RUN_STATE,
    "last_run_state": _LAST_RUN_STATE,
    "start_date": _LAST_RUN_START,
    "last_run_start_date": _LAST_RUN_START,
    "is_paused": dag.c.is_paused,
}


def dag_not_found(dag_id: str):
    return not_found(f"The Dag with ID: `{dag_id}` was not found")


def _token(secret: str, row) -> str:
    return serializers.file_token(secret, row.bundle_name, row.relative_fileloc)


def _bodies(services, conn, rows) -> list[dict]:
    tags = queries.tags_by_dag(conn, [r.dag_id for r in rows])
    secret = services.settings.secret("jwt")
    return [serializers.dag(r, tags[r.dag_id], _token(secret, r)) for r in rows]


def filtered_dags(q: Query, *, user: str | None = None, full: bool = True):
    """The `select(dag)` a DAG list's query parameters ask for (shared by GET and bulk PATCH /dags)."""
    tags = q.list("tags")
    mode = q.str("tags_match_mode") or "any"
    if mode not in ("any", "all"):
        q.fail("tags_match_mode", "Input should be 'any' or 'all'", mode, "literal_error",
               {"expected": "'any' or 'all'"})
    exclude_stale = q.bool("exclude_stale", True)
    if q.bool("only_active", None) is False:  # Airflow 2 spelling
        exclude_stale = False
    paused = q.bool("paused")
    has_import_errors = q.bool("has_import_errors") if full else None
    is_favorite = q.bool("is_favorite") if full else None
    has_asset_schedule = q.bool("has_asset_schedule") if full else None
    last_state = q.str("last_dag_run_state") if full else None
    if last_state is not None and last_state not in RUN_STATES:
        q.fail("last_dag_run_state", "Input should be 'queued', 'running', 'success' or 'failed'", last_state,
               "enum", {"expected": "'queued', 'running', 'success' or 'failed'"})
    run_states = q.list("dag_run_state") if full else []
    for state in run_states:
        if state not in RUN_STATES:
            q.fail("dag_run_state", "Input should be 'queued', 'running', 'success' or 'failed'", state, "enum",
                   {"expected": "'queued', 'running', 'success' or 'failed'"})
    run_dates = select(dag_run.c.dag_id)
    if full:
        run_dates = queries.date_range(q, run_dates, dag_run, ("start_date", "end_date"), prefix="dag_run_")
    q.done()

    query = select(dag)
    if exclude_stale:
        query = query.where(dag.c.is_stale.is_(False))
    if paused is not None:
        query = query.where(dag.c.is_paused.is_(paused))
    if has_import_errors is not None:
        query = query.where(dag.c.has_import_errors.is_(has_import_errors))
    if (cond := queries.like_any(dag.c.dag_id, q.str("dag_id_pattern"))) is not None:
        query = query.where(cond)
    display = func.coalesce(dag.c.dag_display_name, dag.c.dag_id)
    if full and (cond := queries.like_any(display, q.str("dag_display_name_pattern"))) is not None:
        query = query.where(cond)
    owners = q.list("owners")
    if owners:
        query = query.where(or_(*(dag.c.owners.ilike(f"%{o}%") for o in owners)))
    if tags:
        tagged = select(dag_tag.c.dag_id).where(dag_tag.c.name.in_(tags))
        if mode == "all":
            tagged = tagged.group_by(dag_tag.c.dag_id).having(func.count(distinct(dag_tag.c.name)) == len(set(tags)))
        query = query.where(dag.c.dag_id.in_(tagged))
    if run_states:
        run_dates = run_dates.where(dag_run.c.state.in_(run_states))
    if run_states or run_dates.whereclause is not None:
        query = query.where(dag.c.dag_id.in_(run_dates))
    if last_state is not None:
        query = query.where(_LAST_RUN_STATE == last_state)
    if is_favorite is not None:
        favorites = select(dag_favorite.c.dag_id).where(dag_favorite.c.user_id == (user or ""))
        query = query.where(dag.c.dag_id.in_(favorites) if is_favorite else dag.c.dag_id.not_in(favorites))
    if has_asset_schedule is not None:
        scheduled = select(dag_schedule_asset_reference.c.dag_id).union(
            select(dag_schedule_asset_alias_reference.c.dag_id))
        query = query.where(dag.c.dag_id.in_(scheduled) if has_asset_schedule else dag.c.dag_id.not_in(scheduled))
    dependency = q.str("asset_dependency") if full else None
    if dependency:
        matching = select(asset.c.id).where(or_(asset.c.name.ilike(f"%{dependency}%"),
                                                asset.c.uri.ilike(f"%{dependency}%")))
        related = select(dag_schedule_asset_reference.c.dag_id).where(
            dag_schedule_asset_reference.c.asset_id.in_(matching)).union(
            select(task_outlet_asset_reference.c.dag_id).where(task_outlet_asset_reference.c.asset_id.in_(matching)))
        query = query.where(dag.c.dag_id.in_(related))
    if full and q.list("timetable_type"):
        query = query.where(dag.c.timetable_type.in_(q.list("timetable_type")))
    if q.str("bundle_name"):
        query = query.where(dag.c.bundle_name == q.str("bundle_name"))
    if full and q.str("bundle_version"):
        query = query.where(dag.c.bundle_version == q.str("bundle_version"))
    return query


def list_dags(services, request):
    q = Query(request)
    limit, offset = q.paging()
    query = filtered_dags(q, user=request.state.user.username)
    query = queries.ordered(query, q.list("order_by"), _ORDER, ["dag_id"], tiebreak=dag.c.dag_id)
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
        actions.record(conn, request, "patch_dag", dag_id=dag_id)
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
            is_favorite=_is_favorite(conn, dag_id, request.state.user.username),
        )


def patch_dags(services, request):
    """Pause or unpause every DAG the filters select (Airflow's bulk PATCH /dags)."""
    q = Query(request)
    limit, offset = q.paging()
    mask = q.list("update_mask")
    body = Body(json_body(request), allowed={"is_paused"}, required={"is_paused"})
    paused = body.bool("is_paused")
    body.done()
    if mask and mask != ["is_paused"]:
        raise HTTPError(400, "Only `is_paused` field can be updated through the REST API")
    query = filtered_dags(q, full=False).order_by(dag.c.dag_id)
    with services.engine.begin() as conn:
        rows, total = queries.page(conn, query, limit, offset)
        ids = [r.dag_id for r in rows]
        if ids:
            conn.execute(update(dag).where(dag.c.dag_id.in_(ids)).values(is_paused=paused))
            for dag_id in ids:
                actions.record(conn, request, "patch_dags", dag_id=dag_id)
        rows = conn.execute(select(dag).where(dag.c.dag_id.in_(ids)).order_by(dag.c.dag_id)).all() if ids else []
        result = {"dags": _bodies(services, conn, rows), "total_entries": total}
    if not paused:
        for dag_id in ids:
            services.bus.notify_scheduler(kind="dag_unpaused", dag_id=dag_id)
    return result


def delete_dag(services, request):
    """Forget a DAG and everything recorded about it; the processor adds it back if its file still defines it."""
    dag_id = request.path_params["dag_id"]
    with services.engine.begin() as conn:
        if store_dags.get_dag(conn, dag_id) is None:
            raise not_found(f"Dag with id: {dag_id} was not found")
        if problem := forget_dag(conn, dag_id):
            raise HTTPError(409, problem)
        actions.record(conn, request, "delete_dag", dag_id=dag_id)
    # Airflow 3.2.1's route answers 204 No Content (its generated OpenAPI document says 200 `{}`;
    # the official client takes either: an undeclared 2xx status deserializes to None).
    return Response(status_code=204)


def forget_dag(conn, dag_id: str) -> str | None:
    """Delete every record of the DAG (also for `leoflow dags delete`); why not, if a task still runs."""
    row = store_dags.get_dag(conn, dag_id)
    if row is None:
        return None
    running = conn.execute(select(func.count()).select_from(task_instance).where(
        task_instance.c.dag_id == dag_id, task_instance.c.state.in_(("queued", "running")))).scalar()
    if running:
        return f"Task instances of dag with id: '{dag_id}' are still running"
    for table in (xcom, rendered_task_instance_fields, task_instance_history, task_instance, dag_run,
                  dag_tag, dag_favorite, dag_warning, serialized_dag, dag_code, dag_version):
        conn.execute(delete(table).where(table.c.dag_id == dag_id))
    conn.execute(delete(import_error).where(import_error.c.filename == row.fileloc))
    conn.execute(delete(dag).where(dag.c.dag_id == dag_id))
    return None


def _is_favorite(conn, dag_id: str, user: str) -> bool:
    return conn.execute(select(dag_favorite.c.dag_id).where(
        dag_favorite.c.dag_id == dag_id, dag_favorite.c.user_id == user)).first() is not None


def favorite_dag(services, request):
    dag_id, user = request.path_params["dag_id"], request.state.user.username
    with services.engine.begin() as conn:
        if store_dags.get_dag(conn, dag_id) is None:
            raise not_found(f"DAG with id '{dag_id}' not found")
        if not _is_favorite(conn, dag_id, user):
            conn.execute(dag_favorite.insert().values(user_id=user, dag_id=dag_id))
        actions.record(conn, request, "favorite_dag", dag_id=dag_id)
    return Response(status_code=204)


def unfavorite_dag(services, request):
    dag_id, user = request.path_params["dag_id"], request.state.user.username
    with services.engine.begin() as conn:
        if store_dags.get_dag(conn, dag_id) is None:
            raise not_found(f"DAG with id '{dag_id}' not found")
        if not _is_favorite(conn, dag_id, user):
            raise HTTPError(409, "DAG is not marked as favorite")
        conn.execute(delete(dag_favorite).where(dag_favorite.c.dag_id == dag_id, dag_favorite.c.user_id == user))
        actions.record(conn, request, "unfavorite_dag", dag_id=dag_id)
    return Response(status_code=204)


ROUTES = [
    ("/dags", ["GET"], list_dags),
    ("/dags", ["PATCH"], patch_dags),
    ("/dags/{dag_id}", ["DELETE"], delete_dag),
    ("/dags/{dag_id}/favorite", ["POST"], favorite_dag),
    ("/dags/{dag_id}/unfavorite", ["POST"], unfavorite_dag),
    ("/dags/{dag_id}", ["GET"], get_dag),
    ("/dags/{dag_id}", ["PATCH"], patch_dag),
    ("/dags/{dag_id}/details", ["GET"], get_dag_details),
]
