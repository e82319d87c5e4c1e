"""Small `airflow.*` modules DAG files and plugins import for one or two names."""

from leoflow.sdk.plugins import AirflowPlugin  # noqa: F401
from leoflow.sdk.priority_strategy import (  # noqa: F401
    AbsolutePriorityWeightStrategy, DownstreamPriorityWeightStrategy, PriorityWeightStrategy,
    UpstreamPriorityWeightStrategy,
)


from enum import Enum

from leoflow.sdk.params import NOTSET  # noqa: F401

ArgNotSet = type(NOTSET)
XCOM_RETURN_KEY = "return_value"


class DagRunType(str, Enum):
    """`airflow.utils.types.DagRunType`: how a run was created."""

    BACKFILL_JOB = "backfill"
    SCHEDULED = "scheduled"
    MANUAL = "manual"
    ASSET_TRIGGERED = "asset_triggered"
    ASSET_MATERIALIZATION = "asset_materialization"

    def __str__(self) -> str:
        return self.value

    def generate_run_id(self, *, suffix: str) -> str:
        return f"{self}__{suffix}"

    @staticmethod
    def from_run_id(run_id: str) -> "DagRunType":
        for run_type in DagRunType:
            if run_id and run_id.startswith(f"{run_type.value}__"):
                return run_type
        return DagRunType.MANUAL


class DagRunTriggeredByType(Enum):
    CLI = "cli"
    OPERATOR = "operator"
    REST_API = "rest_api"
    UI = "ui"
    TEST = "test"
    TIMETABLE = "timetable"
    ASSET = "asset"
    BACKFILL = "backfill"


def hookimpl(func=None, **kwargs):
    """`airflow.listeners.hookimpl`: marks a listener function; Leoflow calls a plugin listener's
    functions by name, so the mark changes nothing (see leoflow.sdk.plugins.call_listeners)."""
    if func is None:
        return lambda f: f
    return func
