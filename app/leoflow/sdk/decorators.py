"""`@task` (TaskFlow): a Python function becomes a task when called in a DAG.

Calling the decorated function creates the task and returns an XComArg for
its return value; XComArgs passed as arguments make the producers upstream.
"""

from __future__ import annotations

import functools
import inspect
import re
import typing
from typing import Any, Callable

from leoflow.sdk.dag import current_dag
from leoflow.sdk.operators.bash import BashOperator
from leoflow.sdk.operators.python import PythonOperator, determine_kwargs
from leoflow.sdk.xcomarg import XComArg


def unique_task_id(task_id: str, dag) -> str:
    """`noop`, then `noop__1`, `noop__2`, ... within one DAG (Airflow's scheme)."""
    if dag is None or task_id not in dag.task_dict:
        return task_id
    core = re.split(r"__\d+$", task_id)[0]
    pattern = re.compile(rf"^{re.escape(core)}__(\d+)$")
    suffixes = [int(m.group(1)) for t in dag.task_dict if (m := pattern.match(t))]
    return f"{core}__{max(suffixes) + 1 if suffixes else 1}"


def _infers_multiple_outputs(func: Callable) -> bool:
    # Airflow: a return annotation of dict/Mapping means one XCom per key.
    try:
        hints = typing.get_type_hints(func)
    except Exception:
        return False
    ret = hints.get("return", inspect.Signature.empty)
    if ret is inspect.Signature.empty:
        return False
    origin = typing.get_origin(ret) or ret
    return isinstance(origin, type) and issubclass(origin, (dict, typing.Mapping))


class _PythonDecoratedOperator(PythonOperator):
    custom_operator_name = "@task"


class _BashDecoratedOperator(BashOperator):
    """`@task.bash`: the function returns the command; then it runs like BashOperator."""

    custom_operator_name = "@task.bash"
    template_fields = ("bash_command", "env", "cwd", "op_args", "op_kwargs")

    def __init__(self, *, python_callable: Callable, op_args=None, op_kwargs=None, **kwargs: Any) -> None:
        kwargs.pop("multiple_outputs", None)
        super().__init__(bash_command="", **kwargs)
        self.python_callable = python_callable
        self.op_args = list(op_args or [])
        self.op_kwargs = dict(op_kwargs or {})

    def execute(self, context: dict) -> Any:
        merged = {**context, **self.op_kwargs}
        command = self.python_callable(*self.op_args, **determine_kwargs(self.python_callable, self.op_args, merged))
        if not isinstance(command, str) or not command.strip():
            raise TypeError("The returned value from the TaskFlow callable must be a non-empty string.")
        from leoflow.sdk.templating import render_value, template_env

        self.bash_command = render_value(command, context, template_env(self.dag, self), self.template_ext)
        self.__dict__.setdefault("_rendered_fields", {})["bash_command"] = self.bash_command
        return super().execute(context)


class TaskDecorator:
    """What `@task` returns: call it to add a task, `.override()` to change options."""

    def __init__(self, function: Callable, operator_class: type, options: dict):
        self.function = function
        self.operator_class = operator_class
        self.options = options
        functools.update_wrapper(self, function)

    def __repr__(self) -> str:
        return f"<TaskDecorator {self.function.__name__} -> {self.operator_class.__name__}>"

    def __call__(self, *args: Any, **kwargs: Any) -> XComArg:
        options = dict(self.options)
        dag = options.get("dag") or current_dag()
        task_id = unique_task_id(options.pop("task_id", None) or self.function.__name__, dag)
        multiple_outputs = options.pop("multiple_outputs", None)
        if multiple_outputs is None:
            multiple_outputs = _infers_multiple_outputs(self.function)
        try:
            inspect.signature(self.function).bind_partial(*args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"{self.function.__name__}() {exc}") from None
        op = self.operator_class(
            task_id=task_id, python_callable=self.function, op_args=list(args), op_kwargs=kwargs,
            multiple_outputs=multiple_outputs, **options,
        )
        if self.function.__doc__ and not any((op.doc, op.doc_json, op.doc_md, op.doc_rst, op.doc_yaml)):
            op.doc_md = self.function.__doc__
        return XComArg(op)

    def override(self, **options: Any) -> "TaskDecorator":
        return TaskDecorator(self.function, self.operator_class, {**self.options, **options})

    def partial(self, **kwargs):
        raise NotImplementedError("Leoflow does not support dynamic task mapping (partial/expand) yet")

    expand = partial
    expand_kwargs = partial


def _decorator(operator_class: type):
    def make(python_callable: Callable | None = None, multiple_outputs: bool | None = None, **options: Any):
        def wrap(func: Callable) -> TaskDecorator:
            return TaskDecorator(func, operator_class, {"multiple_outputs": multiple_outputs, **options})

        return wrap(python_callable) if callable(python_callable) else wrap

    return make


class _TaskNamespace:
    """`task` itself, plus `task.python`, `task.bash`; other flavours say what's missing."""

    python = staticmethod(_decorator(_PythonDecoratedOperator))
    bash = staticmethod(_decorator(_BashDecoratedOperator))

    def __call__(self, python_callable=None, multiple_outputs=None, **options):
        return self.python(python_callable, multiple_outputs=multiple_outputs, **options)

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        raise AttributeError(f"Leoflow does not support @task.{name} yet")


task = _TaskNamespace()
