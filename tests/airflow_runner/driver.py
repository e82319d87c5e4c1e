"""Airflow 3.2.1's own task-SDK client, driven over stdin/stdout by the contract tests.

Runs in Airflow's interpreter (never Leoflow's): each line in is a JSON request, each line out the
answer. A request names a client operation as Airflow's supervisor calls it, e.g.
  {"url": ..., "token": ..., "op": "xcoms.head", "args": ["dag", "run", "task", "key"]}
and gets {"ok": <the returned model, dumped as JSON>, "token": <the client's token afterwards>}, or
{"status": 409, "detail": ...} when the server refused, or {"exception": ..., "message": ...}.
Values may be {"__datetime__": iso}, {"__timedelta__": seconds}, {"__uuid__": str} or
{"__model__": "module.Class", "fields": {...}}.
Extra operations: "raw" (a request through the client), "workload" (validate a document as Airflow's
`workloads.All`), "previous_sdk" (validate a body with Airflow 3.1's task-SDK models, loaded from a file).
"""

from __future__ import annotations

import datetime as dt
import importlib
import importlib.util
import json
import os
import sys
import uuid

# The answers get stdout to themselves: whatever Airflow logs or prints goes to stderr.
ANSWERS = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)
sys.stdout = sys.stderr

from airflow.sdk.api.client import Client, ServerResponseError  # noqa: E402

_clients: dict[tuple, Client] = {}
_previous_sdk = None


def client(url: str, token: str, version: str | None, fresh: bool = False) -> Client:
    """The client a try keeps (keyed by its first token), or with `fresh` a new one."""
    key = (url, token, version)
    if fresh or key not in _clients:
        c = Client(base_url=url, token=token)
        if version:
            c.headers["airflow-api-version"] = version
        if fresh:
            return c
        _clients[key] = c
    return _clients[key]


def decode(value):
    if isinstance(value, list):
        return [decode(v) for v in value]
    if isinstance(value, dict):
        if "__datetime__" in value:
            return dt.datetime.fromisoformat(value["__datetime__"])
        if "__uuid__" in value:
            return uuid.UUID(value["__uuid__"])
        if "__timedelta__" in value:
            return dt.timedelta(seconds=value["__timedelta__"])
        if "__model__" in value:
            module, _, name = value["__model__"].rpartition(".")
            return getattr(importlib.import_module(module), name)(**decode(value["fields"]))
        return {k: decode(v) for k, v in value.items()}
    return value


def encode(value):
    if hasattr(value, "model_dump"):
        dumped = value.model_dump(mode="json", by_alias=True)
        if not isinstance(dumped, dict):  # a RootModel: a list or a single value
            dumped = {"root": dumped}
        return {"__type__": type(value).__name__, **dumped}
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    return value


def previous_sdk(path: str):
    global _previous_sdk
    if _previous_sdk is None:
        spec = importlib.util.spec_from_file_location("previous_sdk_models", path)
        _previous_sdk = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = _previous_sdk  # its models refer to each other by name
        spec.loader.exec_module(_previous_sdk)
    return _previous_sdk


def handle(req: dict) -> dict:
    op = req["op"]
    if op == "workload":
        from pydantic import TypeAdapter

        from airflow.executors import workloads

        model = TypeAdapter(workloads.All).validate_python(req["document"])
        return {"ok": json.loads(model.model_dump_json()), "type": type(model).__name__}
    if op == "previous_sdk":
        model = getattr(previous_sdk(req["models"]), req["model"]).model_validate(req["body"])
        return {"ok": json.loads(model.model_dump_json(by_alias=True))}
    c = client(req["url"], req["token"], req.get("version"), req.get("fresh", False))
    try:
        if op == "raw":
            resp = c.request(req["method"], req["path"], params=req.get("params"),
                             content=json.dumps(req["json"]) if "json" in req else None)
            result = {"status": resp.status_code, "headers": dict(resp.headers), "body": resp.text}
        else:
            target = c
            for part in op.split("."):
                target = getattr(target, part)
            result = encode(target(*decode(req.get("args", [])), **decode(req.get("kwargs", {}))))
    except ServerResponseError as err:
        return {"status": err.response.status_code, "detail": err.detail, "message": str(err),
                "headers": dict(err.response.headers), "token": c.auth.token}
    return {"ok": result, "token": c.auth.token}


def _plain(value):
    return value.model_dump(mode="json") if hasattr(value, "model_dump") else str(value)


def main() -> None:
    for line in sys.stdin:
        try:
            answer = handle(json.loads(line))
        except Exception as exc:  # noqa: BLE001 - the test reads what went wrong
            import traceback

            answer = {"exception": type(exc).__name__, "message": str(exc), "traceback": traceback.format_exc()}
            sys.stderr.write(answer["traceback"])
        ANSWERS.write(json.dumps(answer, default=_plain) + "\n")
        ANSWERS.flush()


if __name__ == "__main__":
    main()
