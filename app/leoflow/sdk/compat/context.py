"""`airflow.utils.context` / `airflow.operators.python.get_current_context` paths."""

import logging
from typing import NamedTuple

from leoflow.sdk.runtime import get_current_context

Context = dict  # Airflow types the context as a TypedDict; at run time it is a dict


class TaskInstanceKey(NamedTuple):
    """`airflow.sdk.types.TaskInstanceKey`: which try of which task instance (extra links take one)."""

    dag_id: str
    task_id: str
    run_id: str
    try_number: int = 1
    map_index: int = -1

    @property
    def primary(self) -> tuple[str, str, str, int]:
        return self.dag_id, self.task_id, self.run_id, self.map_index

    def with_try_number(self, try_number: int) -> "TaskInstanceKey":
        return TaskInstanceKey(self.dag_id, self.task_id, self.run_id, try_number, self.map_index)


Logger = logging.Logger  # typing names providers import from airflow.sdk.types



def context_merge(context: dict, *args, **kwargs) -> None:
    """Merge dicts and keyword arguments into a context (Airflow helper)."""
    if not context:
        context = {}
    context.update(*args, **kwargs)


def context_copy_partial(source: dict, keys) -> dict:
    return {k: v for k, v in source.items() if k in set(keys)}


__all__ = ["Context", "Logger", "TaskInstanceKey", "context_copy_partial", "context_merge", "get_current_context"]
