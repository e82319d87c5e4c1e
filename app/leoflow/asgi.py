"""The one ASGI application every mode serves: REST API, auth, UI and the Execution API."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import Mount

from .execution_api import execution_routes
from .services import Services


def build_app(services: Services) -> Starlette:
    from starlette.exceptions import HTTPException

    from .api.app import api_routes, http_exception_handler

    routes = [Mount("/execution", routes=execution_routes(services)), *api_routes(services)]
    app = Starlette(routes=routes, exception_handlers={HTTPException: http_exception_handler})
    app.state.services = services
    return app
