"""`airflow.(providers.standard.)operators.python`."""

from leoflow.sdk.operators.python import PythonOperator
from leoflow.sdk.runtime import get_current_context

__all__ = ["PythonOperator", "get_current_context"]
