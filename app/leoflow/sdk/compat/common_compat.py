"""`airflow.providers.common.compat.sdk`: what providers import across Airflow versions."""

from leoflow.sdk.compat.sdk import *  # noqa: F401,F403
from leoflow.sdk.compat.sdk import __all__ as _sdk_all
from leoflow.sdk.exceptions import (  # noqa: F401
    AirflowException, AirflowFailException, AirflowNotFoundException, AirflowRescheduleException,
    AirflowSensorTimeout, AirflowSkipException, AirflowTaskTimeout, DagRunTriggerException,
    DownstreamTasksSkipped, TaskDeferred,
)
from leoflow.sdk.operators.branch import BranchMixIn, SkipMixin  # noqa: F401

__all__ = [*_sdk_all, "AirflowException", "AirflowFailException", "AirflowNotFoundException",
           "AirflowRescheduleException", "AirflowSensorTimeout", "AirflowSkipException", "AirflowTaskTimeout",
           "BranchMixIn", "DagRunTriggerException", "DownstreamTasksSkipped", "SkipMixin", "TaskDeferred"]
