"""`airflow.sdk`: the Airflow 3 authoring interface."""

from leoflow.sdk import timezone  # noqa: F401
from leoflow.sdk.assets import (  # noqa: F401
    Asset, AssetAlias, AssetAll, AssetAny, AssetWatcher, Metadata, asset,
)
from leoflow.sdk.baseoperator import BaseOperator
from leoflow.sdk.compat.context import Context
from leoflow.sdk.connection import BaseHook, Connection
from leoflow.sdk.dag import DAG, dag
from leoflow.sdk.decorators import task
from leoflow.sdk.dependencies import chain, chain_linear, cross_downstream
from leoflow.sdk.edges import EdgeModifier, Label
from leoflow.sdk import macros  # noqa: F401
from leoflow.sdk.configuration import conf  # noqa: F401
from leoflow.sdk.links import BaseOperatorLink
from leoflow.sdk.notifier import BaseNotifier
from leoflow.sdk.objectstorage import ObjectStoragePath
from leoflow.sdk.operators.branch import BaseBranchOperator, BranchMixIn, SkipMixin
from leoflow.sdk.params import Param, ParamsDict
from leoflow.sdk.parsing_context import get_parsing_context
from leoflow.sdk.partitions import (  # noqa: F401
    AllowedKeyMapper, ChainMapper, IdentityMapper, PartitionMapper, ProductMapper, StartOfDayMapper, StartOfHourMapper,
    StartOfMonthMapper, StartOfQuarterMapper, StartOfWeekMapper, StartOfYearMapper,
)
from leoflow.sdk.runtime import RuntimeTaskInstance as TaskInstance  # noqa: F401
from leoflow.sdk.runtime import get_current_context
from leoflow.sdk.sensors.base import BaseSensorOperator, PokeReturnValue
from leoflow.sdk.setup_teardown import setup, teardown
from leoflow.sdk.state import DagRunState, TaskInstanceState, WeightRule  # noqa: F401
from leoflow.sdk.taskgroup import TaskGroup, task_group
from leoflow.sdk.templating import literal
from leoflow.sdk.timetables import (  # noqa: F401
    AssetOrTimeSchedule, CronDataIntervalTimetable, CronPartitionTimetable, CronTriggerTimetable,
    DeltaDataIntervalTimetable, DeltaTriggerTimetable, EventsTimetable, MultipleCronTriggerTimetable,
    PartitionedAssetTimetable,
)
from leoflow.sdk.trigger_rule import TriggerRule
from leoflow.sdk.variable import Variable
from leoflow.sdk.xcomarg import XComArg

__version__ = "1.2.1"  # the Airflow task SDK version this matches

__all__ = [
    "Asset", "AssetAlias", "AssetAll", "AssetAny", "AssetOrTimeSchedule", "AssetWatcher", "BaseBranchOperator",
    "BaseHook", "BranchMixIn", "SkipMixin", "TaskInstance", "conf", "get_parsing_context", "macros",
    "BaseNotifier", "BaseOperator", "BaseOperatorLink", "BaseSensorOperator", "Connection", "Context",
    "CronDataIntervalTimetable", "CronPartitionTimetable", "CronTriggerTimetable", "DAG", "DagRunState",
    "DeltaDataIntervalTimetable", "DeltaTriggerTimetable", "EdgeModifier", "EventsTimetable", "Label", "Metadata",
    "MultipleCronTriggerTimetable", "ObjectStoragePath", "Param", "ParamsDict", "PartitionedAssetTimetable", "PokeReturnValue",
    "TaskGroup", "TaskInstanceState", "TriggerRule", "Variable", "WeightRule", "XComArg", "asset", "chain",
    "chain_linear", "cross_downstream", "dag", "get_current_context", "literal", "setup", "task", "task_group",
    "teardown", "timezone",
]
