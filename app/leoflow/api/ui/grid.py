"""/ui/grid: the grid view's task tree, its run columns and each run's task states (NDJSON)."""

from __future__ import annotations

import json
from collections import Counter, defaultdict

from sqlalchemy import select
from starlette.responses import StreamingResponse

from ...store import dags as store_dags
from ...store.tables import dag_run, dag_version, serialized_dag, task_instance
from ...store.types import utcnow
from .. import dags as api_dags
from .. import queries, serializers
from ..errors import not_found
from ..validate import Query
from . import tree

RUN_ORDER = {"run_after": dag_run.c.run_after, "logical_date": dag_run.c.logical_date,
             "start_date": dag_run.c.start_date, "end_date": dag_run.c.end_date, "id": dag_run.c.id}
RUN_TYPES = ("backfill", "scheduled", "manual", "asset_triggered", "asset_materialization")
RUN_STATES = ("queued", "running", "success", "failed")
# The state a group (or mapped task) shows: the first of these its members have (Airflow's order).
STATE_PRIORITY = ["failed", "upstream_failed", "up_for_retry", "up_for_reschedule", "queued", "scheduled",
                  "deferred", "running", "restarting", None, "success", "skipped", "removed"]


def latest_data(conn, dag_id: str) -> dict:
    found = store_dags.latest_serialized(conn, dag_id)
    if found is None:
        raise not_found(f"Dag with id {dag_id} was not found")
    return found[1]


def filtered_runs(q: Query, dag_id: str, query):
    """The run filters the grid endpoints share (`run_after_*`, `run_type`, `state`, `triggering_user`)."""
    query = query.where(dag_run.c.dag_id == dag_id)
    query = queries.date_range(q, query, dag_run, ("run_after",))
    run_types = q.list("run_type")
    for value in run_types:
        if value not in RUN_TYPES:
            q.fail("run_type", f"Input should be {', '.join(repr(t) for t in RUN_TYPES)}", value, "enum")
    states = q.list("state")
    for value in states:
        if value not in RUN_STATES:
            q.fail("state", "Input should be 'queued', 'running', 'success' or 'failed'", value, "enum")
    if run_types:
        query = query.where(dag_run.c.run_type.in_(run_types))
    if states:
        query = query.where(dag_run.c.state.in_(states))
    if (cond := queries.like_any(dag_run.c.triggering_user_name, q.str("triggering_user"))) is not None:
        query = query.where(cond)
    return query


def _ordered_page(q: Query, query):
    limit, offset = q.paging()
    order = q.list("order_by")
    query = queries.ordered(query, order, RUN_ORDER, ["run_after"], tiebreak=dag_run.c.id)
    q.done()
    return query.limit(limit).offset(offset)


def _grid_node(node: tree.Node) -> dict:
    """GridNodeResponse; absent fields are left out as Airflow does (is_mapped is always there)."""
    out = {"id": node.id, "label": node.label, "is_mapped": node.is_mapped}
    if node.is_group:
        out["children"] = [_grid_node(c) for c in node.children] or None
        if out["children"] is None:
            del out["children"]
    else:
        if node.task.get("is_setup"):
            out["setup_teardown_type"] = "setup"
        elif node.task.get("is_teardown"):
            out["setup_teardown_type"] = "teardown"
    return out


def _merge(current: list[dict], new: list[dict]) -> None:
    """Add nodes of an older version that the newest one no longer has (removed tasks keep a row)."""
    by_id = {n["id"]: n for n in current}
    for node in new:
        found = by_id.get(node["id"])
        if found is None:
            current.append(node)
            by_id[node["id"]] = node
        elif found.get("children") is not None and node.get("children"):
            _merge(found["children"], node["children"])


def _subset(data: dict, root: str | None, upstream: bool, downstream: bool, depth: int | None) -> dict:
    """Only the tasks matching `root` (a task id, or a group's prefix) and, if asked, their relatives."""
    if not root:
        return data
    tasks = {t["task_id"]: t for t in data.get("tasks") or []}
    keep = {tid for tid in tasks if tid == root or tid.startswith(root + ".")}
    for direction, wanted in (("upstream", upstream), ("downstream", downstream)):
        if not wanted:
            continue
        frontier, level = set(keep), 0
        while frontier and (depth is None or level < depth):
            frontier = {r for tid in frontier for r in tasks[tid].get(direction) or [] if r in tasks} - keep
            keep |= frontier
            level += 1
    return {**data, "tasks": [t for tid, t in tasks.items() if tid in keep]}


def structure(services, request):
    """GET /ui/grid/structure/{dag_id}: the task tree of the newest version, plus tasks only older
    versions used in the runs shown."""
    dag_id = request.path_params["dag_id"]
    q = Query(request)
    root = q.str("root")
    upstream, downstream = q.bool("include_upstream", False), q.bool("include_downstream", False)
    depth = q.int("depth")
    query = _ordered_page(q, filtered_runs(q, dag_id, select(dag_run.c.run_id)))
    with services.engine.connect() as conn:
        data = latest_data(conn, dag_id)
        nodes = [_grid_node(n) for n in tree.build(_subset(data, root, upstream, downstream, depth))]
        run_ids = list(conn.execute(query).scalars())
        if run_ids:
            latest_id = store_dags.latest_serialized(conn, dag_id)[0]
            used = (select(task_instance.c.dag_version_id)
                    .where(task_instance.c.dag_id == dag_id, task_instance.c.run_id.in_(run_ids))
                    .distinct())
            older = conn.execute(select(serialized_dag.c.data).where(
                serialized_dag.c.dag_id == dag_id, serialized_dag.c.dag_version_id != latest_id,
                serialized_dag.c.dag_version_id.in_(used))).scalars()
            for old in older:
                _merge(nodes, [_grid_node(n) for n in tree.build(_subset(old, root, upstream, downstream, depth))])
    return nodes


def runs(services, request):
    """GET /ui/grid/runs/{dag_id}: one column per run, oldest first unless `order_by` says otherwise."""
    dag_id = request.path_params["dag_id"]
    q = Query(request)
    query = _ordered_page(q, filtered_runs(q, dag_id, select(dag_run)))
    with services.engine.connect() as conn:
        if store_dags.get_dag(conn, dag_id) is None:
            raise api_dags.dag_not_found(dag_id)
        rows = conn.execute(query).all()
        versions = queries.versions_of_runs(conn, rows)
    now = utcnow()
    out = []
    for r in rows:
        body = {
            "dag_id": r.dag_id, "run_id": r.run_id, "queued_at": serializers.iso(r.queued_at),
            "start_date": serializers.iso(r.start_date), "end_date": serializers.iso(r.end_date),
            "run_after": serializers.iso(r.run_after), "state": r.state, "run_type": r.run_type,
            "dag_versions": [serializers.dag_version(v) for v in versions.get((r.dag_id, r.run_id), [])],
            "has_missed_deadline": False,
            # Not nullable here: a running run counts until now, a queued one 0.
            "duration": serializers.seconds_between(r.start_date, r.end_date or now) if r.start_date else 0.0,
        }
        out.append(body)  # nulls kept: the schema requires these keys (Airflow 3.2.1 drops them)
    return out


def _aggregate(details: list[dict]) -> dict:
    states = [d["state"] for d in details]
    starts = [d["start_date"] for d in details if d["start_date"]]
    ends = [d["end_date"] for d in details if d["end_date"]]
    numbers = [d["version"] for d in details if d["version"] is not None]
    present = set(states)
    return {
        "state": next((s for s in STATE_PRIORITY if s in present), None),
        "child_states": dict(Counter("no_status" if s is None else s for s in states)) if details else {},
        "min_start_date": serializers.iso(min(starts)) if starts else None,
        "max_end_date": serializers.iso(max(ends)) if ends else None,
        "dag_version_number": max(numbers) if numbers else None,
    }


def _summaries(nodes: list[tree.Node], by_task: dict[str, list]) -> tuple[list[dict], list[dict]]:
    """(summaries of these nodes and everything below, the TI details they cover)."""
    out, covered = [], []
    for node in nodes:
        if node.is_group:
            inner, details = _summaries(node.children, by_task)
            out.extend(inner)
            out.append({"task_id": node.id, "task_display_name": node.id, **_aggregate(details)})
        else:
            details = by_task.pop(node.id, [])
            if node.is_mapped:
                agg = _aggregate(details or [{"state": None, "start_date": None, "end_date": None,
                                              "version": None}])
            else:
                agg = {**_aggregate(details), "child_states": None}
            out.append({"task_id": node.id, "task_display_name": node.task.get("task_display_name") or node.id,
                        **agg})
        covered.extend(details)
    return out, covered


def run_summary(conn, dag_id: str, run_id: str, cache: dict) -> dict | None:
    rows = conn.execute(
        select(task_instance.c.task_id, task_instance.c.state, task_instance.c.start_date,
               task_instance.c.end_date, task_instance.c.dag_version_id, dag_version.c.version_number)
        .outerjoin(dag_version, dag_version.c.id == task_instance.c.dag_version_id)
        .where(task_instance.c.dag_id == dag_id, task_instance.c.run_id == run_id)
        .order_by(task_instance.c.task_id, task_instance.c.map_index)
    ).all()
    if not rows:
        return None
    version_id = rows[0].dag_version_id
    if version_id not in cache:
        data = store_dags.serialized_by_version(conn, version_id) if version_id else None
        cache[version_id] = tree.build(data or latest_data(conn, dag_id))
    by_task: dict[str, list] = defaultdict(list)
    for r in rows:
        by_task[r.task_id].append({"state": r.state, "start_date": r.start_date, "end_date": r.end_date,
                                   "version": r.version_number})
    summaries, _ = _summaries(cache[version_id], by_task)
    for task_id in sorted(by_task):  # tasks the DAG no longer has, still with instances in this run
        summaries.append({"task_id": task_id, "task_display_name": task_id,
                          **_aggregate(by_task[task_id]), "child_states": None})
    return {"run_id": run_id, "dag_id": dag_id, "task_instances": summaries}


def ti_summaries(services, request):
    """GET /ui/grid/ti_summaries/{dag_id}?run_ids=...: one JSON line per run, sent as each is ready."""
    dag_id = request.path_params["dag_id"]
    run_ids = Query(request).list("run_ids")

    def lines():
        cache: dict = {}
        for run_id in run_ids:
            # A connection per run: a slow reader never holds one for the whole stream.
            with services.engine.connect() as conn:
                summary = run_summary(conn, dag_id, run_id, cache)
            if summary is not None:
                yield json.dumps(summary, separators=(",", ":")) + "\n"

    return StreamingResponse(lines(), media_type="application/x-ndjson")


ROUTES = [
    ("/ui/grid/structure/{dag_id}", ["GET"], structure),
    ("/ui/grid/runs/{dag_id}", ["GET"], runs),
    ("/ui/grid/ti_summaries/{dag_id}", ["GET"], ti_summaries),
]
