"""/ui/gantt (one run's task bars) and /ui/calendar (runs per day or hour, and the planned ones)."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import func, or_, select

from ...store import dags as store_dags
from ...store.tables import dag_run, task_instance, task_instance_history
from .. import dags as api_dags
from .. import serializers
from ..errors import not_found
from ..validate import Query


def gantt(services, request):
    """GET /ui/gantt/{dag_id}/{run_id}: every try of every unmapped task instance of the run, by task id.

    As in Airflow, mapped instances are left to the grid, and a current try waiting to retry is
    already in the history."""
    dag_id, run_id = request.path_params["dag_id"], request.path_params["run_id"]
    cols = ("task_id", "try_number", "state", "start_date", "end_date")
    with services.engine.connect() as conn:
        found = store_dags.latest_serialized(conn, dag_id)
        names = {t["task_id"]: t.get("task_display_name") or t["task_id"]
                 for t in (found[1] if found else {}).get("tasks", [])}
        current = conn.execute(select(*(task_instance.c[c] for c in cols)).where(
            task_instance.c.dag_id == dag_id, task_instance.c.run_id == run_id, task_instance.c.map_index == -1,
            or_(task_instance.c.state.is_(None), task_instance.c.state != "up_for_retry"))).all()
        history = conn.execute(select(*(task_instance_history.c[c] for c in cols)).where(
            task_instance_history.c.dag_id == dag_id, task_instance_history.c.run_id == run_id,
            task_instance_history.c.map_index == -1)).all()
    rows = sorted([*current, *history], key=lambda r: (r.task_id, r.try_number))
    if not rows:
        raise not_found(f"No task instances for dag_id={dag_id} run_id={run_id}")
    return {"dag_id": dag_id, "run_id": run_id, "task_instances": [
        {"task_id": r.task_id, "task_display_name": names.get(r.task_id, r.task_id), "try_number": r.try_number,
         "state": r.state, "start_date": serializers.iso(r.start_date), "end_date": serializers.iso(r.end_date),
         "is_group": False, "is_mapped": False}
        for r in rows]}


def calendar(services, request):
    """GET /ui/calendar/{dag_id}: how many runs per day (or hour) in each state, plus the planned ones."""
    dag_id = request.path_params["dag_id"]
    q = Query(request)
    granularity = q.str("granularity", "daily")
    if granularity not in ("hourly", "daily"):
        q.fail("granularity", "Input should be 'hourly' or 'daily'", granularity, "literal_error",
               {"expected": "'hourly' or 'daily'"})
    bounds = {s: q.datetime(f"logical_date_{s}") for s in ("gte", "gt", "lte", "lt")}
    for s in ("gte", "gt", "lte", "lt"):
        q.datetime(f"partition_date_{s}")
    q.done()
    query = select(dag_run.c.logical_date, dag_run.c.run_after, dag_run.c.state).where(dag_run.c.dag_id == dag_id)
    day = func.coalesce(dag_run.c.logical_date, dag_run.c.run_after)
    for s, op in (("gte", "__ge__"), ("gt", "__gt__"), ("lte", "__le__"), ("lt", "__lt__")):
        if bounds[s] is not None:
            query = query.where(getattr(day, op)(bounds[s]))
    with services.engine.connect() as conn:
        row = store_dags.get_dag(conn, dag_id)
        if row is None:
            raise api_dags.dag_not_found(dag_id)
        runs = conn.execute(query).all()
    counts: Counter = Counter()
    for r in runs:
        when = r.logical_date or r.run_after
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        when = when.replace(minute=0, second=0, microsecond=0)
        if granularity == "daily":
            when = when.replace(hour=0)
        counts[(when, r.state)] += 1
    if row.next_dagrun is not None and not row.is_paused:  # the next scheduled run, shown as planned
        when = row.next_dagrun.replace(minute=0, second=0, microsecond=0)
        if granularity == "daily":
            when = when.replace(hour=0)
        counts[(when, "planned")] += 1
    entries = [{"date": serializers.iso(when), "state": state, "count": n}
               for (when, state), n in sorted(counts.items(), key=lambda kv: (kv[0][0], kv[0][1]))]
    return {"total_entries": len(entries), "dag_runs": entries}


ROUTES = [
    ("/ui/gantt/{dag_id}/{run_id}", ["GET"], gantt),
    ("/ui/calendar/{dag_id}", ["GET"], calendar),
]
