"""What every Execution API route goes through: version negotiation, the token, the body, the thread pool.

A route is a module-level function `fn(call, **path_params) -> Response`; `Spec` says how it is reached
and who may call it, `make_route` turns the two into a Starlette route.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import jwt
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..services import Services
from . import tokens, versions
from .http import HTTPError, json_body, respond

EXECUTION_ONLY = frozenset({"execution"})
TO_START = frozenset({"execution", "workload"})


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
        response.headers[versions.HEADER] = requested or versions.LATEST
        return response

    handler.__name__ = handler.__qualname__ = fn.__name__
    route = Route(spec.path, handler, methods=[spec.method], name=fn.__name__)
    if spec.method != "HEAD":
        route.methods.discard("HEAD")  # Starlette answers HEAD with GET routes; Airflow declares HEAD itself
    return route


def authorize(services: Services, secret: str, request: Request, spec: Spec) -> dict:
    """The token's claims, if it may call this route: else 401/403."""
    header = request.headers.get("authorization", "")
    if not header[:7].lower() == "bearer ":
        raise HTTPError(401, "Missing auth token")
    try:
        claims = tokens.verify(secret, header[7:].strip())
    except jwt.InvalidTokenError as exc:
        raise HTTPError(403, f"Invalid auth token: {exc}")
    if spec.own_ti and claims["sub"] != request.path_params.get("task_instance_id"):
        raise HTTPError(403, "Token subject does not match task instance ID")
    return claims
