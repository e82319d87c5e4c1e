"""`airflow.utils.context` / `airflow.operators.python.get_current_context` paths."""

from leoflow.sdk.runtime import get_current_context

Context = dict  # Airflow types the context as a TypedDict; at run time it is a dict

__all__ = ["Context", "get_current_context"]
