"""/ui/structure/structure_data: the graph view's nodes (tasks, groups, assets) and edges."""

from __future__ import annotations

from sqlalchemy import select

from ...store import dags as store_dags
from ...store.tables import dag_version, serialized_dag
from ..errors import not_found
from ..validate import Query
from . import tree
from .grid import _subset


def _node(n: tree.Node) -> dict:
    """NodeResponse: a task, or a group with its children."""
    if n.is_group:
        return {"id": n.id, "label": n.label, "type": "task", "children": [_node(c) for c in n.children],
                "is_mapped": n.is_mapped, "tooltip": n.group.get("tooltip") or None, "setup_teardown_type": None,
                "operator": None, "asset_condition_type": None}
    t = n.task
    setup = "setup" if t.get("is_setup") else "teardown" if t.get("is_teardown") else None
    return {"id": n.id, "label": n.label, "type": "task", "children": None,
            "is_mapped": True if n.is_mapped else None, "tooltip": None, "setup_teardown_type": setup,
            "operator": t.get("operator_name") or t.get("custom_operator_name") or t.get("task_type"),
            "asset_condition_type": None}


def _edge(source: str, target: str, label=None, setup_teardown=None) -> dict:
    return {"source_id": source, "target_id": target, "is_setup_teardown": setup_teardown, "label": label,
            "is_source_asset": None}


def _asset_id(a: dict) -> str:
    return f"asset:{a.get('name') or a.get('uri')}"


def graph(data: dict, external: bool) -> dict:
    tasks = {t["task_id"]: t for t in data.get("tasks") or []}
    labels = data.get("edge_labels") or {}
    nodes = [_node(n) for n in tree.build(data)]
    edges = []
    for tid in sorted(tasks):
        for down in tasks[tid].get("downstream") or []:
            if down in tasks:
                both = bool(tasks[tid].get("is_setup")) and bool(tasks[down].get("is_teardown"))
                edges.append(_edge(tid, down, labels.get(tid, {}).get(down), True if both else None))
    if external:  # the assets tasks produce or read, as Airflow's graph shows them
        seen = set()
        for tid in sorted(tasks):
            for kind, key in (("outlets", "out"), ("inlets", "in")):
                for a in tasks[tid].get(kind) or []:
                    if a.get("type") not in ("asset", None):
                        continue
                    aid = _asset_id(a)
                    if aid not in seen:
                        seen.add(aid)
                        nodes.append({"id": aid, "label": a.get("name") or a.get("uri"), "type": "asset",
                                      "children": None, "is_mapped": None, "tooltip": None,
                                      "setup_teardown_type": None, "operator": None, "asset_condition_type": None})
                    edges.append(_edge(tid, aid) if key == "out" else _edge(aid, tid))
    return {"edges": edges, "nodes": nodes}


def structure_data(services, request):
    """GET /ui/structure/structure_data?dag_id=...: nodes and edges of the newest (or asked) version."""
    q = Query(request)
    dag_id = q.str("dag_id")
    if dag_id is None:
        q.fail("dag_id", "Field required", None, "missing")
    root = q.str("root")
    upstream, downstream = q.bool("include_upstream", False), q.bool("include_downstream", False)
    depth = q.int("depth")
    external = q.bool("external_dependencies", False)
    version_number = q.int("version_number")
    q.done()
    with services.engine.connect() as conn:
        if version_number is not None:
            data = conn.execute(select(serialized_dag.c.data)
                                .join(dag_version, dag_version.c.id == serialized_dag.c.dag_version_id)
                                .where(dag_version.c.dag_id == dag_id,
                                       dag_version.c.version_number == version_number)).scalar()
        else:
            found = store_dags.latest_serialized(conn, dag_id)
            data = found[1] if found else None
    if data is None:
        raise not_found(f"Dag with id {dag_id} was not found")
    return graph(_subset(data, root, upstream, downstream, depth), external)


ROUTES = [
    ("/ui/structure/structure_data", ["GET"], structure_data),
]
