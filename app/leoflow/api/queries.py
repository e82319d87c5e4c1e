"""Read queries the API needs beyond `store/`: paging, ordering, LIKE patterns, joined lookups."""

from __future__ import annotations

from sqlalchemy import Float, func, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement

from ..store.tables import (
    dag_run,
    dag_tag,
    dag_version,
    serialized_dag,
    task_instance,
)
from .errors import HTTPError


def page(conn: Connection, query, limit: int, offset: int):
    """(rows of this page, total_entries) for an ordered select."""
    total = conn.execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar()
    rows = conn.execute(query.limit(limit).offset(offset)).all()
    return rows, total


def ordered(query, order_by: list[str], allowed: dict, default: list[str], tiebreak=None):
    """Apply `order_by` values (`-name` = descending) as Airflow does; unknown names are a 400."""
    terms = []
    for item in order_by or default:
        for name in item.split(","):
            name = name.strip()
            if not name:
                continue
            desc = name.startswith("-")
            key = name.lstrip("-")
            column = allowed.get(key)
            if column is None:
                raise HTTPError(400, f"Ordering with '{key}' is disallowed or the attribute does not exist "
                                     f"on the model")
            terms.append(column.desc() if desc else column.asc())
    if tiebreak is not None:
        terms.append(tiebreak)
    return query.order_by(*terms)


def like_any(column, pattern: str | None):
    """Airflow's `*_pattern` filters: case-insensitive substring LIKE, `|` separating alternatives."""
    if not pattern:
        return None
    terms = [t.strip() for t in pattern.split("|") if t.strip()] if "|" in pattern else [pattern]
    return or_(*(column.ilike(f"%{t}%") for t in terms))


def tags_by_dag(conn: Connection, dag_ids) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {d: [] for d in dag_ids}
    if dag_ids:
        for row in conn.execute(select(dag_tag.c.dag_id, dag_tag.c.name).where(dag_tag.c.dag_id.in_(list(dag_ids)))):
            out.setdefault(row.dag_id, []).append(row.name)
    return out


def versions_by_id(conn: Connection, ids) -> dict:
    ids = [i for i in set(ids) if i]
    if not ids:
        return {}
    return {r.id: r for r in conn.execute(select(dag_version).where(dag_version.c.id.in_(ids)))}


def latest_dag_version(conn: Connection, dag_id: str):
    return conn.execute(
        select(dag_version).where(dag_version.c.dag_id == dag_id)
        .order_by(dag_version.c.version_number.desc()).limit(1)
    ).first()


def last_parsed(conn: Connection, dag_id: str):
    """When the newest serialized version was last written (the details' `last_parsed`)."""
    return conn.execute(
        select(func.max(serialized_dag.c.last_updated)).where(serialized_dag.c.dag_id == dag_id)
    ).scalar()


def versions_of_runs(conn: Connection, runs) -> dict[tuple[str, str], list]:
    """The DAG versions each run used: the one it was created with and those its tasks ran with, in one
    query (the UI and clients poll a run while it goes)."""
    if not runs:
        return {}
    wanted = {(r.dag_id, r.run_id) for r in runs}
    dag_ids, run_ids = {d for d, _ in wanted}, {r for _, r in wanted}
    created = {r.created_dag_version_id for r in runs if r.created_dag_version_id}
    used_by_tasks = (
        select(task_instance.c.dag_id, task_instance.c.run_id, task_instance.c.dag_version_id.label("version_id"))
        .where(task_instance.c.dag_id.in_(dag_ids), task_instance.c.run_id.in_(run_ids),
               task_instance.c.dag_version_id.is_not(None))
        .distinct().subquery()
    )
    # A version row per run that used it (the serializer reads the version's own columns by name).
    rows = conn.execute(
        select(dag_version, used_by_tasks.c.dag_id.label("used_by_dag"), used_by_tasks.c.run_id.label("used_by_run"))
        .select_from(dag_version.outerjoin(used_by_tasks, used_by_tasks.c.version_id == dag_version.c.id))
        .where(or_(dag_version.c.id.in_(created), used_by_tasks.c.version_id.is_not(None)) if created
               else used_by_tasks.c.version_id.is_not(None))
    ).all()
    found: dict = {}
    used: dict[tuple[str, str], set] = {k: set() for k in wanted}
    for row in rows:
        found[row.id] = row
        if (row.used_by_dag, row.used_by_run) in used:
            used[(row.used_by_dag, row.used_by_run)].add(row.id)
    for r in runs:
        if r.created_dag_version_id:
            used[(r.dag_id, r.run_id)].add(r.created_dag_version_id)
    return {k: sorted((found[v] for v in vs if v in found), key=lambda v: v.version_number)
            for k, vs in used.items()}


def count_running_runs(conn: Connection, dag_id: str) -> int:
    return conn.execute(
        select(func.count()).select_from(dag_run).where(dag_run.c.dag_id == dag_id, dag_run.c.state == "running")
    ).scalar()


def date_range(q, query, table, names, prefix: str = ""):
    """The `<prefix><field>_gte/_gt/_lte/_lt` filters Airflow lists take."""
    for name in names:
        column = table.c[name]
        for suffix, op in (("gte", "__ge__"), ("gt", "__gt__"), ("lte", "__le__"), ("lt", "__lt__")):
            value = q.datetime(f"{prefix}{name}_{suffix}")
            if value is not None:
                query = query.where(getattr(column, op)(value))
    return query


class seconds_between(ColumnElement):
    """`end - start` in seconds, in SQL on SQLite and Postgres (for ordering by a run's duration)."""

    inherit_cache = True
    type = Float()

    def __init__(self, start, end):
        self.start, self.end = start, end


@compiles(seconds_between, "sqlite")
def _seconds_sqlite(element, compiler, **kw):
    return (f"((julianday({compiler.process(element.end, **kw)}) - "
            f"julianday({compiler.process(element.start, **kw)})) * 86400.0)")


@compiles(seconds_between)
def _seconds_default(element, compiler, **kw):
    return (f"EXTRACT(EPOCH FROM ({compiler.process(element.end, **kw)} - "
            f"{compiler.process(element.start, **kw)}))")


def display_names(conn: Connection, dag_ids) -> dict[str, str]:
    """dag_id -> the DAG's display name (its id when it sets none)."""
    from ..store.tables import dag

    ids = {d for d in dag_ids if d}
    names = {d: d for d in ids}
    if ids:
        for row in conn.execute(select(dag.c.dag_id, dag.c.dag_display_name).where(dag.c.dag_id.in_(ids))):
            names[row.dag_id] = row.dag_display_name or row.dag_id
    return names


def with_display_names(conn: Connection, bodies: list[dict]) -> list[dict]:
    """Fill `dag_display_name` (and that of nested DAG versions) in response bodies."""
    names = display_names(conn, {b.get("dag_id") for b in bodies})
    for body in bodies:
        name = names.get(body.get("dag_id"))
        if name is None:
            continue
        body["dag_display_name"] = name
        for version in [body.get("dag_version"), *body.get("dag_versions", [])]:
            if isinstance(version, dict):
                version["dag_display_name"] = name
    return bodies
