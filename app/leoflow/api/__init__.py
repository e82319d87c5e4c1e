"""The public REST API (`/api/v2`) and `/auth`, with Airflow 3.2.1's paths and bodies.

`api_routes(services)` gives the routes; the server mounts them at its root.
"""

__all__ = ["api_routes", "http_exception_handler"]


def __getattr__(name):
    # Imported on first use: `leoflow lite` answers health from api.monitor before the rest exists.
    if name in __all__:
        from . import app

        return getattr(app, name)
    raise AttributeError(name)
