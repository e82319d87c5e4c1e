"""`airflow.models` (Airflow 2 path): the authoring classes it used to hold."""

from leoflow.sdk.baseoperator import BaseOperator
from leoflow.sdk.connection import Connection
from leoflow.sdk.dag import DAG
from leoflow.sdk.params import Param
from leoflow.sdk.variable import Variable
from leoflow.sdk.xcomarg import XComArg

__all__ = ["BaseOperator", "Connection", "DAG", "Param", "Variable", "XComArg"]
