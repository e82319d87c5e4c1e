"""The public REST API (`/api/v2`), the UI's private `/ui` routes and `/auth`, as starlette routes
the server mounts at its root.

Handlers are plain functions `(services, request) -> body | (body, status) | Response`
that run in a worker thread (the database calls are blocking). The wrapper here
checks the token, reads the body and turns `HTTPError` into Airflow's JSON errors.
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from . import auth, login, permissions, ui  # web
from . import dag_runs, dags, import_errors, logs, monitor, task_instances, xcom
from . import (  # admin
    assets, backfills, config_api, connections, dag_parsing, dag_stats, dag_warnings, event_logs, jobs, plugins,
    pools, variables,
)
from . import batch_lists, dag_asset_queue, dag_run_wait, dag_sources, dag_versions, dependencies  # core
from . import hitl, mapped, tasks, ti_clear, ti_extras, ti_state, tries  # core
from . import probes  # orchestrators and Prometheus
from . import agents  # Leoflow's agents (admin only)
from .errors import HTTPError, error_response
from .validate import check_request_text

log = logging.getLogger(__name__)

_FAMILIES = [monitor, dags, dag_runs, task_instances, xcom, logs, import_errors]
# core; `mapped` is added after every family: its path shape matches any two segments.
_FAMILIES += [batch_lists, tasks, dag_versions, dag_sources, ti_clear, ti_state, tries, dependencies, ti_extras,
              dag_run_wait, dag_asset_queue, hitl]
_FAMILIES += [login]  # web: the browser's login page and logout (the /ui routes come from api/ui/)
_FAMILIES += [variables, connections, pools, event_logs, jobs, dag_warnings, dag_stats, plugins, config_api,  # admin
              dag_parsing, assets, backfills]
_FAMILIES += [agents]


def endpoint(services, authenticator: auth.Authenticator, fn, *, public: bool = False, template: str = ""):
    """Wrap a handler: who is calling (401 without a token), may they (403), then run it in a thread."""
    need = permissions.required_role("GET", template)  # decided per method below, once per route

    async def handle(request: Request) -> Response:
        request.state.auth = authenticator
        user = None
        try:
            if not public:
                user = request.state.user = await run_in_threadpool(authenticator.authenticate, request)
                role = need if request.method in ("GET", "HEAD") else permissions.required_role(request.method,
                                                                                                 template)
                if not user.may(role):
                    raise HTTPError(403, f"Forbidden: the {user.role} role may not {request.method} {template} "
                                         f"(needs {role})")
            check_request_text(request)  # a NUL in a path or query parameter: a 422 naming it, not a driver error
            request.state.body = await request.body() if request.method in ("POST", "PATCH", "PUT") else b""
            result = await run_in_threadpool(fn, services, request)
        except HTTPError as exc:
            return error_response(exc)
        except (OperationalError, InterfaceError) as exc:  # the database is away (restarting, cut off)
            log.warning("%s %s: the metadata database is unavailable: %s", request.method, template,
                        str(exc).splitlines()[0][:200])
            return error_response(HTTPError(503, "The metadata database is unavailable; retry shortly",
                                            headers={"Retry-After": "5"}))
        if isinstance(result, Response):
            response = result
        else:
            status = 200
            if isinstance(result, tuple):
                result, status = result
            response = JSONResponse(result, status_code=status)
        if user is not None and authenticator.needs_refresh(user):
            login.set_token_cookie(request, response, authenticator.issue(user))
        return response

    handle.__name__ = fn.__name__
    return handle


def api_routes(services) -> list[BaseRoute]:
    """Every `/api/v2`, `/ui` and `/auth` route, bound to `services`."""
    authenticator = auth.Authenticator(services.settings, services.engine, server=services.mode == "server")
    routes: list[BaseRoute] = [
        Route("/auth/token", endpoint(services, authenticator, auth.create_token, public=True,
                                      template="/auth/token"), methods=["POST"]),
    ]
    tables = [("/api/v2", family.ROUTES) for family in [*_FAMILIES, mapped]] + [("", ui.ROUTES), ("", probes.ROUTES)]
    for prefix, table in tables:
        for path, methods, fn, *flags in table:
            public = "public" in flags
            routes.append(Route(prefix + path, endpoint(services, authenticator, fn, public=public,
                                                        template=prefix + path), methods=methods))
    return routes


def probe_routes(services) -> list[BaseRoute]:
    """Only `/livez`, `/readyz` and `/metrics`: for a replica that serves no API."""
    authenticator = auth.Authenticator(services.settings, services.engine, server=services.mode == "server")
    return [Route(path, endpoint(services, authenticator, fn, public=True, template=path), methods=methods)
            for path, methods, fn, *_flags in probes.ROUTES]


async def http_exception_handler(request: Request, exc: HTTPException) -> Response:
    """For the server app: starlette's own 404/405 as FastAPI-style `{"detail": ...}` JSON."""
    if exc.status_code in (204, 304):
        return Response(status_code=exc.status_code, headers=exc.headers)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
