"""`airflow.settings`, the part task code reads: AIRFLOW_HOME and the pod mutation hook.

Airflow lets a deployment change every pod the Kubernetes operators make with `pod_mutation_hook(pod)`
in an `airflow_local_settings` module on sys.path; without one the hook leaves the pod alone. The
metadata database session (`Session`, `engine`) is Airflow's server side and is not served here.
"""

from __future__ import annotations

import importlib


def _home() -> str:
    from leoflow.userlibs import default_home

    return str(default_home())


AIRFLOW_HOME = _home()


def _local_settings():
    """The deployment's `airflow_local_settings` module, or None when there is none (an error inside it
    is the deployment's to see, as in Airflow)."""
    try:
        return importlib.import_module("airflow_local_settings")
    except ModuleNotFoundError as exc:
        if exc.name != "airflow_local_settings":
            raise
        return None


def pod_mutation_hook(pod) -> None:
    """Change `pod` in place before it is created; the local settings' hook if there is one."""
    local = _local_settings()
    hook = getattr(local, "pod_mutation_hook", None)
    if hook is not None:
        hook(pod)
