"""The one ASGI application every mode serves: REST API, auth, UI and the Execution API."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import Mount

from .execution_api import execution_routes
from .services import Services


def build_app(services: Services) -> Starlette:
    from .api.app import api_routes

    routes = [Mount("/execution", routes=execution_routes(services)), *api_routes(services)]
    app = Starlette(routes=routes)
    app.state.services = services
    return app
