"""The UI's private `/ui` routes (Airflow 3.2.1's `_private_ui.yaml`), one module per page family."""

from __future__ import annotations

from . import auth, config, connections, dags, dashboard, dependencies, grid, misc, runs_views, structure

ROUTES = [route for module in (auth, config, connections, dags, dashboard, dependencies, grid, misc, runs_views,
                                      structure)
          for route in module.ROUTES]
