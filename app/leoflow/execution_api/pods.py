"""Leoflow's own Execution API routes for tries that run away from every server (Kubernetes pods, ADR 27),
under `/execution/leoflow/`; Airflow's task runner never calls them. The try's own token (the workload
token it was handed, or the execution token it got for it) is enough:

- `GET /leoflow/bundles/{sha256}`: the DAG bundle of that hash (agents/bundles.py), as an uncompressed tar.
- `GET /leoflow/logs/{task_instance_id}`: `{"next_seq": N}`, where the try's shipped log goes on.
- `POST /leoflow/logs/{task_instance_id}` `{"seq": N, "lines": "..."}`: one chunk of the try's log (whole
  JSON lines) into the database, where every replica reads it; a chunk sent twice is stored once.
"""

from __future__ import annotations

from starlette.responses import Response

from ..store import log_chunks
from ..store.tis import get_ti
from .http import HTTPError, not_found, respond

MAX_LINES = 1024 * 1024  # characters in one chunk (a pod's shipper sends at most 256 KiB)


def get_bundle(call, sha256):
    from ..agents.bundles import SHA256
    from ..store import agents as store

    if not SHA256.match(sha256):
        raise HTTPError(422, [{"type": "string_pattern_mismatch", "loc": ["path", "sha256"],
                               "msg": "must be 64 lowercase hex digits", "input": sha256[:80]}])
    with call.engine.connect() as conn:
        data = store.get_bundle(conn, sha256)
    if data is None:
        raise not_found(f"No DAG bundle {sha256}")
    return Response(bytes(data), media_type="application/x-tar", headers={"X-Bundle-Sha256": sha256})


def _key(call, task_instance_id) -> tuple:
    with call.engine.connect() as conn:
        row = get_ti(conn, task_instance_id)
    if row is None:
        raise not_found(f"Task Instance {task_instance_id} not found")
    try_number = call.claims.get("try_number") or row.try_number
    return row.dag_id, row.run_id, row.task_id, row.map_index, try_number


def next_log_seq(call, task_instance_id):
    key = _key(call, task_instance_id)
    with call.engine.connect() as conn:
        return respond({"next_seq": log_chunks.next_seq(conn, key)})


def put_log_chunk(call, task_instance_id):
    body = call.body
    if not isinstance(body, dict):
        raise HTTPError(422, [{"type": "model_attributes_type", "loc": ["body"], "msg": "Input should be a valid "
                               "dictionary", "input": None}])
    seq, lines = body.get("seq"), body.get("lines")
    if not isinstance(seq, int) or isinstance(seq, bool) or not 0 <= seq < 10_000_000:
        raise HTTPError(422, [{"type": "int_type", "loc": ["body", "seq"],
                               "msg": "Input should be an integer from 0 to 9999999", "input": seq}])
    if not isinstance(lines, str) or len(lines) > MAX_LINES:
        raise HTTPError(422, [{"type": "string_type", "loc": ["body", "lines"],
                               "msg": f"Input should be a string of at most {MAX_LINES} characters",
                               "input": None if not isinstance(lines, str) else lines[:80]}])
    key = _key(call, task_instance_id)
    with call.engine.begin() as conn:
        stored = log_chunks.append(conn, key, seq, lines)
    return respond({"seq": seq, "stored": stored})
