"""GET .../dagRuns/{dag_run_id}/wait: NDJSON progress of a run until it finishes.

One `{"state": ...}` line per `interval` seconds while the run is unfinished, then the final
state, with the `return_value` XCom of the tasks named in `result` when asked for.
"""

from __future__ import annotations

import json
import time

from sqlalchemy import select
from starlette.responses import StreamingResponse

from ..store import runs as store_runs
from ..store.tables import xcom
from .dag_runs import run_not_found
from .errors import ValidationFailed, invalid

FINISHED = ("success", "failed")
NDJSON = "application/x-ndjson"


def _interval(request) -> float:
    raw = request.query_params.get("interval")
    if raw is None:
        raise ValidationFailed([invalid(["query", "interval"], "Field required", None, "missing")])
    try:
        value = float(raw)
    except ValueError:
        raise ValidationFailed([invalid(["query", "interval"], "Input should be a valid number, unable to parse "
                                        "string as a number", raw, "float_parsing")])
    if value <= 0:
        raise ValidationFailed([invalid(["query", "interval"], "Input should be greater than 0", raw,
                                        "greater_than", {"gt": 0})])
    return value


def _results(conn, dag_id, run_id, task_ids) -> dict:
    rows = conn.execute(select(xcom.c.task_id, xcom.c.map_index, xcom.c.value).where(
        xcom.c.dag_id == dag_id, xcom.c.run_id == run_id, xcom.c.task_id.in_(task_ids),
        xcom.c.key == "return_value").order_by(xcom.c.task_id, xcom.c.map_index)).all()
    out: dict = {}
    for row in rows:
        if row.map_index < 0:
            out[row.task_id] = row.value
        else:
            out.setdefault(row.task_id, []).append(row.value)
    return out


def wait_run(services, request):
    dag_id, run_id = request.path_params["dag_id"], request.path_params["dag_run_id"]
    interval = _interval(request)
    wanted = request.query_params.getlist("result")
    with services.engine.connect() as conn:
        if store_runs.get_run(conn, dag_id, run_id) is None:
            raise run_not_found(dag_id, run_id)

    def lines():
        while True:
            with services.engine.connect() as conn:
                run = store_runs.get_run(conn, dag_id, run_id)
                if run is None:
                    return
                body = {"state": run.state}
                if run.state in FINISHED:
                    if wanted:
                        body["results"] = _results(conn, dag_id, run_id, wanted)
                    yield json.dumps(body) + "\n"
                    return
            yield json.dumps(body) + "\n"
            time.sleep(interval)

    return StreamingResponse(lines(), media_type=NDJSON)


ROUTES = [
    ("/dags/{dag_id}/dagRuns/{dag_run_id}/wait", ["GET"], wait_run),
]
