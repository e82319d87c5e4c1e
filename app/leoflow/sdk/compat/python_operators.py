"""`airflow.(providers.standard.)operators.python`."""

from leoflow.sdk.operators.python import BranchPythonOperator, PythonOperator, ShortCircuitOperator
from leoflow.sdk.operators.python_venv import (
    BranchExternalPythonOperator, BranchPythonVirtualenvOperator, ExternalPythonOperator, PythonVirtualenvOperator,
)
from leoflow.sdk.runtime import get_current_context

__all__ = ["BranchExternalPythonOperator", "BranchPythonOperator", "BranchPythonVirtualenvOperator",
           "ExternalPythonOperator", "PythonOperator", "PythonVirtualenvOperator", "ShortCircuitOperator",
           "get_current_context"]
