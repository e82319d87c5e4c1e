"""The public REST API (`/api/v2`) and `/auth`, with Airflow 3.2.1's paths and bodies.

`api_routes(services)` gives the routes; the server mounts them at its root.
"""

from .app import api_routes, http_exception_handler

__all__ = ["api_routes", "http_exception_handler"]
