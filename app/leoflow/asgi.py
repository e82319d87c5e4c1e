"""The one ASGI application every mode serves: REST API, auth, UI and the Execution API."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import Mount

from .execution_api import execution_routes
from .services import Services


def build_app(services: Services) -> Starlette:
    from starlette.exceptions import HTTPException

    from .api.app import api_routes, http_exception_handler
    from .web.ui import web_routes

    # The UI's catch-all route (client-side paths -> index.html) must stay last.
    routes = [Mount("/execution", routes=execution_routes(services)), *api_routes(services), *web_routes()]
    app = Starlette(routes=routes, exception_handlers={HTTPException: http_exception_handler})
    app.state.services = services
    return app
