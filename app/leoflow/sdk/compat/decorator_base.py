"""`airflow.sdk.bases.decorator`: what providers build their own `@task.x` decorators from."""

from __future__ import annotations

import inspect
from typing import Any, Callable

from leoflow.sdk.compat.operator_helpers import KeywordParameters, determine_kwargs  # noqa: F401
from leoflow.sdk.decorators import _decorator
from leoflow.sdk.mapping import MappedOperator as DecoratedMappedOperator  # noqa: F401
from leoflow.sdk.operators.python import PythonOperator

# served as `airflow.sdk.bases.decorator.<name>` through leoflow.sdk.decorators' __getattr__
PROVIDER_NAMES = frozenset({"DecoratedOperator", "DecoratedMappedOperator", "KeywordParameters", "determine_kwargs",
                            "is_async_callable", "task_decorator_factory"})


class DecoratedOperator(PythonOperator):
    """The base of a provider's decorated operator: the function is its `python_callable`."""

    custom_operator_name = "@task"

    def __init__(self, *, python_callable: Callable, task_id: str, op_args=None, op_kwargs=None,
                 kwargs_to_upstream: dict | None = None, multiple_outputs: bool = False, **kwargs: Any) -> None:
        kwargs.update(kwargs_to_upstream or {})
        super().__init__(python_callable=python_callable, task_id=task_id, op_args=op_args, op_kwargs=op_kwargs,
                         **kwargs)
        self.multiple_outputs = multiple_outputs


def task_decorator_factory(python_callable: Callable | None = None, *, multiple_outputs: bool | None = None,
                           decorated_operator_class: type, **kwargs: Any):
    """`@task.x` for a provider's operator class: the function becomes that operator's task."""
    return _decorator(decorated_operator_class)(python_callable, multiple_outputs=multiple_outputs, **kwargs)


def is_async_callable(func: Callable) -> bool:
    """A coroutine function (also behind functools.partial)."""
    while hasattr(func, "func") and not inspect.isfunction(func):
        func = func.func
    return inspect.iscoroutinefunction(func)
