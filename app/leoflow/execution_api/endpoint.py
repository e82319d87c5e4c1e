"""The wrapper every Execution API route uses: parse the body, check the token, go off the loop."""

from __future__ import annotations

import datetime as dt
import functools

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from .http import HTTPError, claims, json_body, require_self, respond


def make_endpoint(secret: str, default_auth: str = "any"):
    """`auth`: "self" (the token must be this task instance's) or "any" (any valid task token)."""

    def endpoint(*, body: bool = False, auth: str = default_auth):
        def wrap(fn):
            @functools.wraps(fn)
            async def handler(request: Request):
                try:
                    params = dict(request.path_params)
                    if auth == "self":
                        require_self(request, secret, params["task_instance_id"])
                    else:
                        claims(request, secret)
                    data = await json_body(request) if body else None
                    return await run_in_threadpool(fn, request, data, **params)
                except HTTPError as err:
                    return respond({"detail": err.detail}, err.status)

            return handler

        return wrap

    return endpoint


def query_time(request: Request, name: str) -> dt.datetime | None:
    raw = request.query_params.get(name)
    return parse_query_time(raw, name) if raw else None


def parse_query_time(raw: str, name: str) -> dt.datetime:
    try:
        when = dt.datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise HTTPError(422, [{"type": "datetime_from_date_parsing", "loc": ["query", name],
                               "msg": "Input should be a valid datetime", "input": raw}])
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


def query_int(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise HTTPError(422, [{"type": "int_parsing", "loc": ["query", name],
                               "msg": "Input should be a valid integer", "input": raw}])


def query_bool(request: Request, name: str, default: bool) -> bool:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if raw.lower() in ("true", "1", "yes", "on"):
        return True
    if raw.lower() in ("false", "0", "no", "off"):
        return False
    raise HTTPError(422, [{"type": "bool_parsing", "loc": ["query", name],
                           "msg": "Input should be a valid boolean", "input": raw}])
