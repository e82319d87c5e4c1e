"""Small `airflow.*` modules DAG files and plugins import for one or two names."""

from leoflow.sdk.plugins import AirflowPlugin  # noqa: F401
from leoflow.sdk.priority_strategy import (  # noqa: F401
    AbsolutePriorityWeightStrategy, DownstreamPriorityWeightStrategy, PriorityWeightStrategy,
    UpstreamPriorityWeightStrategy,
)


def hookimpl(func=None, **kwargs):
    """`airflow.listeners.hookimpl`: accepted; Leoflow does not call listeners yet."""
    if func is None:
        return lambda f: f
    return func
