"""`airflow.decorators` (Airflow 2 path): dag and task."""

from leoflow.sdk.dag import dag
from leoflow.sdk.decorators import task

__all__ = ["dag", "task"]
