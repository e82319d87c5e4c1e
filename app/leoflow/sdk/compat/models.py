"""`airflow.models` (Airflow 2 path): the authoring classes it used to hold."""

from leoflow.sdk.baseoperator import BaseOperator
from leoflow.sdk.connection import Connection
from leoflow.sdk.dag import DAG
from leoflow.sdk.mapping import MappedOperator
from leoflow.sdk.params import Param
from leoflow.sdk.runtime import RuntimeTaskInstance as TaskInstance
from leoflow.sdk.compat.models_variable import Variable
from leoflow.sdk.xcomarg import XComArg
from leoflow.sdk.compat.context import TaskInstanceKey


class DagRun:
    """Type stand-in: at run time `context["dag_run"]` is the runtime's run object."""


class DagModel:
    """Type stand-in; DAG rows are not reachable from DAG files in Leoflow."""


Operator = BaseOperator

__all__ = ["BaseOperator", "Connection", "DAG", "DagModel", "DagRun", "MappedOperator", "Operator", "Param",
           "TaskInstance", "TaskInstanceKey", "Variable", "XComArg"]
