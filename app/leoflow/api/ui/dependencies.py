"""/ui/dependencies: DAGs linked through assets (scheduling), or the tasks around one asset (data).

Node ids are Airflow's (`dag:<dag_id>`, `asset:<asset id>`, `task:<dag_id>__SEPARATOR__<task_id>`):
the UI builds links from them. Both graphs come from the asset reference tables the DAG processor
fills (which task writes which asset, which DAG is scheduled on it).
"""

from __future__ import annotations

from collections import defaultdict, deque

from sqlalchemy import select

from ...store.tables import (
    asset,
    dag,
    dag_schedule_asset_reference,
    task_inlet_asset_reference,
    task_outlet_asset_reference,
)
from ..errors import HTTPError, not_found
from ..validate import Query, int64_problem

SEPARATOR = "__SEPARATOR__"


def _live_dags(conn) -> set[str]:
    return set(conn.execute(select(dag.c.dag_id).where(dag.c.is_stale.is_(False))).scalars())


def scheduling(conn) -> dict:
    """dag:producer -> asset:N -> dag:scheduled-on-it."""
    live = _live_dags(conn)
    names = dict(conn.execute(select(asset.c.id, asset.c.name)).all())
    nodes: dict[str, dict] = {}
    edges: set[tuple[str, str]] = set()

    def link(dag_id: str, asset_id: int, produced: bool) -> None:
        if dag_id not in live or asset_id not in names:
            return
        d, a = f"dag:{dag_id}", f"asset:{asset_id}"
        nodes.setdefault(d, {"id": d, "label": dag_id, "type": "dag"})
        nodes.setdefault(a, {"id": a, "label": names[asset_id], "type": "asset"})
        edges.add((d, a) if produced else (a, d))

    for r in conn.execute(select(task_outlet_asset_reference.c.dag_id, task_outlet_asset_reference.c.asset_id)):
        link(r.dag_id, r.asset_id, True)
    for r in conn.execute(select(dag_schedule_asset_reference.c.dag_id, dag_schedule_asset_reference.c.asset_id)):
        link(r.dag_id, r.asset_id, False)
    return {"nodes": sorted(nodes.values(), key=lambda n: n["id"]),
            "edges": [{"source_id": s, "target_id": t} for s, t in sorted(edges)]}


def connected_to(graph: dict, node_id: str) -> dict:
    """Only the part of the graph connected to `node_id`."""
    around = defaultdict(set)
    for e in graph["edges"]:
        around[e["source_id"]].add(e["target_id"])
        around[e["target_id"]].add(e["source_id"])
    if node_id not in around:
        raise not_found(f"Unique connected component not found for node {node_id}")
    seen, todo = {node_id}, deque([node_id])
    while todo:
        for nxt in around[todo.popleft()] - seen:
            seen.add(nxt)
            todo.append(nxt)
    return {"nodes": [n for n in graph["nodes"] if n["id"] in seen],
            "edges": [e for e in graph["edges"] if e["source_id"] in seen]}


def data(conn, asset_id: int) -> dict:
    """Tasks writing and reading the asset, followed through the other assets those tasks touch."""
    live = _live_dags(conn)
    names = dict(conn.execute(select(asset.c.id, asset.c.name)).all())
    outlets = conn.execute(select(task_outlet_asset_reference)).all()
    inlets = conn.execute(select(task_inlet_asset_reference)).all()
    nodes: dict[str, dict] = {}
    edges: set[tuple[str, str]] = set()
    todo, done = deque([asset_id]), set()
    while todo:
        current = todo.popleft()
        if current in done or current not in names:
            continue
        done.add(current)
        a = f"asset:{current}"
        nodes.setdefault(a, {"id": a, "label": names[current], "type": "asset"})
        for refs, produced, follow in ((outlets, True, inlets), (inlets, False, outlets)):
            for ref in refs:
                if ref.asset_id != current or ref.dag_id not in live:
                    continue
                t = f"task:{ref.dag_id}{SEPARATOR}{ref.task_id}"
                nodes.setdefault(t, {"id": t, "label": f"{ref.dag_id}.{ref.task_id}", "type": "task"})
                edges.add((t, a) if produced else (a, t))
                todo.extend(o.asset_id for o in follow if (o.dag_id, o.task_id) == (ref.dag_id, ref.task_id))
    return {"nodes": list(nodes.values()), "edges": [{"source_id": s, "target_id": t} for s, t in sorted(edges)]}


def dependencies(services, request):
    """GET /ui/dependencies?node_id=...&dependency_type=scheduling|data."""
    q = Query(request)
    node_id = q.str("node_id")
    kind = q.str("dependency_type", "scheduling")
    if kind not in ("scheduling", "data"):
        q.fail("dependency_type", "Input should be 'scheduling' or 'data'", kind, "literal_error",
               {"expected": "'scheduling' or 'data'"})
    q.done()
    with services.engine.connect() as conn:
        if kind == "data":
            if not node_id or not node_id.startswith("asset:"):
                raise HTTPError(400, "Data dependencies require an asset node_id (e.g., 'asset:123')")
            try:
                asset_id = int(node_id.removeprefix("asset:"))
            except ValueError:
                asset_id = None
            if asset_id is None or int64_problem(asset_id, node_id):
                raise HTTPError(400, f"Invalid asset node_id: {node_id}")
            graph = data(conn, asset_id)
            if not graph["nodes"]:
                raise not_found(f"Asset with id {asset_id} was not found")
            return graph
        graph = scheduling(conn)
    return connected_to(graph, node_id) if node_id else graph


ROUTES = [("/ui/dependencies", ["GET"], dependencies)]
