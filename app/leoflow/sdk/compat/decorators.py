"""`airflow.decorators` (Airflow 2 path): dag, task and friends."""

from leoflow.sdk.assets import asset  # noqa: F401
from leoflow.sdk.dag import dag
from leoflow.sdk.decorators import task
from leoflow.sdk.setup_teardown import setup, teardown
from leoflow.sdk.taskgroup import task_group

__all__ = ["asset", "dag", "setup", "task", "task_group", "teardown"]
