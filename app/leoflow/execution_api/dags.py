"""Execution API: `GET /dags/{dag_id}`, what a task may read about a DAG (API version 2026-04-06)."""

from __future__ import annotations

from sqlalchemy import select

from ..store import dags as dag_store
from ..store.tables import dag_tag
from .http import not_found, respond


def get_dag(call, dag_id):
    with call.engine.connect() as conn:
        row = dag_store.get_dag(conn, dag_id)
        if row is None:
            raise not_found(f"The Dag with dag_id: `{dag_id}` was not found")
        tags = sorted(conn.execute(select(dag_tag.c.name).where(dag_tag.c.dag_id == dag_id)).scalars())
    return respond({"dag_id": row.dag_id, "is_paused": bool(row.is_paused), "bundle_name": row.bundle_name,
                    "bundle_version": row.bundle_version, "relative_fileloc": row.relative_fileloc,
                    "owners": row.owners, "tags": tags, "next_dagrun": row.next_dagrun})
