"""What every Execution API route goes through: version negotiation, the token, the body, the thread pool.

A route is a module-level function `fn(call, **path_params) -> Response`; `Spec` says how it is reached
and who may call it, `make_route` turns the two into a Starlette route.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import jwt
from sqlalchemy import bindparam, select
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..services import Services
from ..store.tables import task_instance
from ..store.types import utcnow
from . import tokens, versions
from .http import HTTPError, json_body, respond

EXECUTION_ONLY = frozenset({tokens.EXECUTION})
TO_START = frozenset({tokens.EXECUTION, tokens.WORKLOAD})
# Airflow's runner reports success before it runs the task's success callbacks and listeners (and ends
# them after [core] task_success_overtime, 20 s): a finished try's token still works this long.
FINISHED_TRY_GRACE = 30.0
# States in which a try may still have a process (or will get one back, after a deferral or reschedule).
LIVE_STATES = frozenset({"scheduled", "queued", "running", "restarting", "deferred", "up_for_reschedule"})


@dataclass(frozen=True)
class Spec:
    method: str
    path: str
    fn: Callable
    body: bool = False
    auth: bool = True  # False: no token needed (health)
    own_ti: bool = False  # the token must be the `{task_instance_id}` of the path (Airflow's ti:self)
    scopes: frozenset = EXECUTION_ONLY
    # The route reads the task instance and answers 409 itself when the try is over (run, state,
    # heartbeat): the finished-try check would hide that answer behind a 403.
    checks_state: bool = False
    keeps_alive: bool = False  # a 2xx answer means the try runs (run, heartbeat)
    since: str | None = None  # the API version that added the route


class Call:
    """One request, as a route function sees it."""

    __slots__ = ("services", "request", "body", "claims", "version")

    def __init__(self, services: Services, request: Request, body, claims: dict | None, version: str):
        self.services, self.request, self.body, self.claims, self.version = services, request, body, claims, version

    @property
    def engine(self):
        return self.services.engine

    @property
    def query(self):
        return self.request.query_params

    def notify_scheduler(self, kind: str, **fields) -> None:
        self.services.bus.notify_scheduler(kind=kind, **fields)


def make_route(services: Services, spec: Spec) -> Route:
    secret = services.settings.secret("jwt-execution")
    lifetime = float(getattr(services.settings, "execution_token_lifetime", tokens.EXECUTION_LIFETIME))
    fn = spec.fn

    async def handler(request: Request) -> Response:
        requested = request.headers.get(versions.HEADER)
        claims = None
        try:
            version = versions.negotiate(requested)
            if spec.since is not None and version < spec.since:
                return respond({"detail": "Not Found"}, 404)
            if spec.auth:
                claims = authorize(services, secret, request, spec)
            body = await json_body(request) if spec.body else None
            response = await run_in_threadpool(fn, Call(services, request, body, claims, version),
                                               **request.path_params)
        except HTTPError as err:
            response = respond({"detail": err.detail}, err.status)
        except (OperationalError, InterfaceError):  # the database is away: the runner asks again
            response = respond({"detail": "The metadata database is unavailable; retry shortly"}, 503)
            response.headers["Retry-After"] = "5"
        if spec.keeps_alive and claims is not None and response.status_code < 300:
            _seen_live(services.engine, claims)  # it just started or beat: its next requests need no look-up
        response.headers[versions.HEADER] = requested or versions.LATEST
        # A try past its end gets no fresh token: its own routes answer it 409, the others 403.
        if claims is not None and (response.status_code < 400 or not spec.checks_state):
            if claims["scope"] == tokens.WORKLOAD or tokens.refresh_due(claims, lifetime):
                response.headers["Refreshed-API-Token"] = tokens.reissue(secret, claims, lifetime)
        return response

    handler.__name__ = handler.__qualname__ = fn.__name__
    route = Route(spec.path, handler, methods=[spec.method], name=fn.__name__)
    if spec.method != "HEAD":
        route.methods.discard("HEAD")  # Starlette answers HEAD with GET routes; Airflow declares HEAD itself
    return route


def authorize(services: Services, secret: str, request: Request, spec: Spec) -> dict:
    """The token's claims, if it may call this route: else 401/403, as Airflow's `require_auth`."""
    header = request.headers.get("authorization", "")
    if not header[:7].lower() == "bearer ":
        raise HTTPError(401, "Missing auth token")
    try:
        claims = tokens.verify(secret, header[7:].strip())
    except jwt.InvalidTokenError as exc:
        raise HTTPError(403, f"Invalid auth token: {exc}")
    scope = claims["scope"]
    if not isinstance(scope, str) or scope not in tokens.SCOPES:
        raise HTTPError(403, f"Invalid token scope: {scope}")
    if scope not in spec.scopes:
        raise HTTPError(403, f"Token type '{scope}' not allowed for this endpoint. "
                             f"Allowed types: {', '.join(sorted(spec.scopes))}")
    if spec.own_ti and claims["sub"] != request.path_params.get("task_instance_id"):
        raise HTTPError(403, "Token subject does not match task instance ID")
    if not spec.checks_state and not try_is_live(services.engine, claims):
        raise HTTPError(403, "Invalid auth token: the task instance's try has finished")
    return claims


_TRY_STATE = select(task_instance.c.state, task_instance.c.try_number, task_instance.c.end_date).where(
    task_instance.c.id == bindparam("id"))
# A try found live (or that just started or heart-beat) is not looked up again for this long: a task
# that reads many XComs or Variables pays one indexed read per heartbeat at most, not one per request.
LIVE_RECHECK = 5.0
_LIVE: dict[tuple, float] = {}
_LIVE_MAX = 4096


def _seen_live(engine, claims: dict) -> None:
    if len(_LIVE) >= _LIVE_MAX:
        _LIVE.clear()
    _LIVE[(id(engine), claims["sub"], claims.get("try_number"))] = time.monotonic()


def try_is_live(engine, claims: dict) -> bool:
    """The token's try has not finished (or finished less than FINISHED_TRY_GRACE ago)."""
    key = (id(engine), claims["sub"], claims.get("try_number"))
    now = time.monotonic()
    seen = _LIVE.get(key)
    if seen is not None and now - seen < LIVE_RECHECK:
        return True
    with engine.connect() as conn:
        row = conn.execute(_TRY_STATE, {"id": claims["sub"]}).first()
    if row is None:
        return False
    if claims.get("try_number") is not None and claims["try_number"] != row.try_number:
        return False  # a token of an earlier try
    live = row.state in LIVE_STATES or (
        row.state is not None and row.end_date is not None
        and (utcnow() - row.end_date).total_seconds() < FINISHED_TRY_GRACE)
    if live:
        if len(_LIVE) >= _LIVE_MAX:
            _LIVE.clear()
        _LIVE[key] = now
    else:
        _LIVE.pop(key, None)
    return live
