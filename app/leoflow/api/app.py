"""The public REST API (`/api/v2`) and `/auth`, as starlette routes the server mounts at its root.

Handlers are plain functions `(services, request) -> body | (body, status) | Response`
that run in a worker thread (the database calls are blocking). The wrapper here
checks the token, reads the body and turns `HTTPError` into Airflow's JSON errors.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from . import auth, dag_runs, dags, import_errors, logs, monitor, task_instances, xcom
from . import variables, connections, pools  # admin
from .errors import HTTPError, error_response

_FAMILIES = [monitor, dags, dag_runs, task_instances, xcom, logs, import_errors]
_FAMILIES += [variables, connections, pools]  # admin


def endpoint(services, authenticator: auth.Authenticator, fn, *, public: bool = False):
    async def handle(request: Request) -> Response:
        request.state.auth = authenticator
        try:
            if not public:
                request.state.user = await run_in_threadpool(authenticator.authenticate, request)
            request.state.body = await request.body() if request.method in ("POST", "PATCH", "PUT") else b""
            result = await run_in_threadpool(fn, services, request)
        except HTTPError as exc:
            return error_response(exc)
        if isinstance(result, Response):
            return result
        status = 200
        if isinstance(result, tuple):
            result, status = result
        return JSONResponse(result, status_code=status)

    handle.__name__ = fn.__name__
    return handle


def api_routes(services) -> list[BaseRoute]:
    """Every `/api/v2` and `/auth` route, bound to `services`."""
    authenticator = auth.Authenticator(services.settings)
    routes: list[BaseRoute] = [
        Route("/auth/token", endpoint(services, authenticator, auth.create_token, public=True), methods=["POST"]),
    ]
    for family in _FAMILIES:
        for path, methods, fn, *flags in family.ROUTES:
            public = "public" in flags
            routes.append(Route("/api/v2" + path, endpoint(services, authenticator, fn, public=public),
                                methods=methods))
    return routes


async def http_exception_handler(request: Request, exc: HTTPException) -> Response:
    """For the server app: starlette's own 404/405 as FastAPI-style `{"detail": ...}` JSON."""
    if exc.status_code in (204, 304):
        return Response(status_code=exc.status_code, headers=exc.headers)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
