"""The one ASGI application every mode serves: REST API, auth, UI and the Execution API."""

from __future__ import annotations

import asyncio
import json

from .services import Services

HEALTH_PATH = "/api/v2/monitor/health"


def build_app(services: Services, *, api: bool = True):
    """Every route (`api=False`: a replica without the api component answers only probes and metrics)."""
    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException
    from starlette.routing import Mount

    from .api.app import api_routes, http_exception_handler, probe_routes
    from .execution_api import execution_routes
    from .web.api_docs import docs_routes
    from .web.ui import web_routes

    # The UI's catch-all route (client-side paths -> index.html) must stay last.
    if api:
        routes = [Mount("/execution", routes=execution_routes(services)), *agent_api(services),
                  *api_routes(services), *docs_routes(), *web_routes()]
    else:
        routes = probe_routes(services)
    middleware = []
    if metrics_wanted(services):
        from starlette.middleware import Middleware

        from . import metrics

        metrics.enable(services.engine)
        middleware.append(Middleware(metrics.HttpMetrics))
    app = Starlette(routes=routes, middleware=middleware, exception_handlers={HTTPException: http_exception_handler})
    app.state.services = services
    return app


def agent_api(services: Services) -> list:
    """`/agent/v1`: on every server replica, and on lite when its executors include agents."""
    if services.mode != "server" and "agent" not in str(services.settings.executor):
        return []
    from .agents.api import agent_routes

    return agent_routes(services)


def metrics_wanted(services: Services) -> bool:
    """`/metrics`: on for a server, off for lite (its start would pay for prometheus_client), unless set."""
    chosen = services.settings.metrics
    return services.mode == "server" if chosen is None else chosen


class StartingApp:
    """Listens before the full app exists: importing the API, UI and auth libraries takes most of a start.

    Until `app` is set, GET /api/v2/monitor/health is answered here (from the database, as the full
    app does) and every other request waits for the full app, so a client sees a slower first
    answer, never a wrong one.
    """

    def __init__(self, services: Services):
        from .api.monitor import health  # here, before another thread imports the rest of the API

        self.health = health
        self.services = services
        self.app = None  # set (from another thread) once the full app is built

    async def __call__(self, scope, receive, send):
        if self.app is not None:
            return await self.app(scope, receive, send)
        if scope["type"] == "lifespan":  # the full app has no startup/shutdown work of its own
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] == "http" and scope["path"] == HEALTH_PATH and scope["method"] == "GET":
            body = json.dumps(self.health(self.services, None)).encode()
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        while self.app is None:
            await asyncio.sleep(0.01)
        await self.app(scope, receive, send)
