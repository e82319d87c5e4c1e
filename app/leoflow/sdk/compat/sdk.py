"""`airflow.sdk`: the Airflow 3 authoring interface."""

from leoflow.sdk import timezone  # noqa: F401
from leoflow.sdk.baseoperator import BaseOperator
from leoflow.sdk.connection import BaseHook, Connection
from leoflow.sdk.dag import DAG, dag
from leoflow.sdk.decorators import task
from leoflow.sdk.dependencies import chain, chain_linear, cross_downstream
from leoflow.sdk.params import Param, ParamsDict
from leoflow.sdk.runtime import get_current_context
from leoflow.sdk.trigger_rule import TriggerRule
from leoflow.sdk.variable import Variable
from leoflow.sdk.xcomarg import XComArg

__version__ = "1.2.1"  # the Airflow task SDK version this matches

__all__ = [
    "BaseHook", "BaseOperator", "Connection", "DAG", "Param", "ParamsDict", "TriggerRule",
    "Variable", "XComArg", "chain", "chain_linear", "cross_downstream", "dag",
    "get_current_context", "task", "timezone",
]
