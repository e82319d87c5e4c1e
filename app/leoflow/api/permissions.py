"""Which role a request needs: Airflow's simple auth manager rules, in one table.

Airflow checks a resource (DAG, connection, pool, ...) and a method per route;
its simple auth manager then lets a role through as follows, and so does Leoflow:

- DAGs and everything under them (runs, task instances, XCom, logs, sources,
  versions, warnings, stats, tags, event logs, import errors, backfills, parsing):
  viewer may read, user may change;
- assets, pools, config: viewer may read, op may change;
- connections and variables: op, even to read (they hold secrets);
- everything else (version, health, plugins, providers, jobs, the UI's own reads):
  viewer; any other change: admin.

Routes are matched by their template (`/api/v2/connections/{connection_id}`), so
this is decided once per route, not per request path.
"""

from __future__ import annotations

VIEWER, USER, OP, ADMIN = "viewer", "user", "op", "admin"

# (first path segment under /api/v2 or /ui) -> (role to read, role to change)
_RESOURCES = {
    "dags": (VIEWER, USER), "dagSources": (VIEWER, USER), "dagStats": (VIEWER, USER),
    "dagTags": (VIEWER, USER), "dagWarnings": (VIEWER, USER), "eventLogs": (VIEWER, USER),
    "importErrors": (VIEWER, USER), "backfills": (VIEWER, USER), "parseDagFile": (VIEWER, USER),
    "dagVersions": (VIEWER, USER),
    "assets": (VIEWER, OP), "pools": (VIEWER, OP), "config": (VIEWER, OP),
    "connections": (OP, OP), "variables": (OP, OP),
    "version": (VIEWER, ADMIN), "monitor": (VIEWER, ADMIN), "plugins": (VIEWER, ADMIN),
    "providers": (VIEWER, ADMIN), "jobs": (VIEWER, ADMIN),
    "agents": (ADMIN, ADMIN),  # Leoflow's agents: enrolling one hands out a credential
}
# The UI's private routes map onto the resources they show.
_UI = {
    "dags": "dags", "grid": "dags", "structure": "dags", "gantt": "dags", "calendar": "dags",
    "dashboard": "dags", "dependencies": "dags", "next_run_assets": "assets", "backfills": "backfills",
    "connections": "connections", "config": "version", "auth": "version", "teams": "version",
    "partitioned_dag_runs": "dags", "pending_partitioned_dag_run": "dags",
}
_READS = {"GET", "HEAD", "OPTIONS"}
# POST routes that only read (a list with a body), or that change only the caller's own view.
_READ_POSTS = ("/dagRuns/list", "/taskInstances/list", "/favorite", "/unfavorite", "/ui/auth/token")


def required_role(method: str, template: str) -> str:
    """The least role that may call `method` on the route `template` (e.g. `/api/v2/pools/{pool_name}`)."""
    if template.startswith("/api/v2/"):
        rest = template[len("/api/v2/"):]
        resource = rest.split("/", 1)[0]
    elif template.startswith("/ui/"):
        resource = _UI.get(template[len("/ui/"):].split("/", 1)[0], "version")
    else:
        resource = ""
    if "/assets/" in template and resource == "dags":  # a DAG's queued asset events are the assets'
        resource = "assets"
    read_role, change_role = _RESOURCES.get(resource, (VIEWER, ADMIN))
    reads = method.upper() in _READS or (method.upper() == "POST" and template.endswith(_READ_POSTS))
    return read_role if reads else change_role
