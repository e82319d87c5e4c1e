"""PythonOperator: call a Python function with the context keys it asks for."""

from __future__ import annotations

import inspect
from typing import Any, Callable

from leoflow.sdk.baseoperator import BaseOperator
from leoflow.sdk.operators.branch import BranchMixIn, SkipMixin


def determine_kwargs(func: Callable, args: tuple | list, kwargs: dict) -> dict:
    """The keyword arguments `func` accepts: all of them with **kwargs, else by name."""
    sig = inspect.signature(func)
    params = list(sig.parameters.values())
    if any(p.kind == inspect.Parameter.VAR_KEYWORD for p in params):
        taken = {p.name for p in params[: len(args)] if p.kind != inspect.Parameter.VAR_POSITIONAL}
        return {k: v for k, v in kwargs.items() if k not in taken}
    positional_names = {p.name for p in params[: len(args)] if p.kind in (
        inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)}
    accepted = {p.name for p in params if p.kind in (
        inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)}
    return {k: v for k, v in kwargs.items() if k in accepted and k not in positional_names}


class PythonOperator(BaseOperator):
    template_fields = ("templates_dict", "op_args", "op_kwargs")
    template_fields_renderers = {"templates_dict": "json", "op_args": "py", "op_kwargs": "py"}
    ui_color = "#ffefeb"
    shallow_copy_attrs = ("python_callable", "op_kwargs")

    def __init__(
        self,
        *,
        python_callable: Callable,
        op_args: list | tuple | None = None,
        op_kwargs: dict | None = None,
        templates_dict: dict | None = None,
        templates_exts: list[str] | None = None,
        show_return_value_in_logs: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not callable(python_callable):
            from leoflow.sdk.exceptions import AirflowException

            raise AirflowException("`python_callable` param must be callable")
        self.python_callable = python_callable
        self.op_args = list(op_args or [])
        self.op_kwargs = dict(op_kwargs or {})
        self.templates_dict = templates_dict
        if templates_exts:
            self.template_ext = tuple(templates_exts)
        self.show_return_value_in_logs = show_return_value_in_logs

    def execute(self, context: dict) -> Any:
        # op_kwargs win over context keys of the same name, as in Airflow.
        merged = {**context, **self.op_kwargs, "templates_dict": self.templates_dict}
        kwargs = determine_kwargs(self.python_callable, self.op_args, merged)
        result = self.execute_callable(kwargs)
        if self.show_return_value_in_logs:
            self.log.info("Done. Returned value was: %s", result)
        else:
            self.log.info("Done. Returned value not shown")
        return result

    def execute_callable(self, kwargs: dict) -> Any:
        if inspect.iscoroutinefunction(self.python_callable):
            # Airflow 3.2 runs `async def` task functions in an event loop of their own.
            import asyncio

            return asyncio.run(self.python_callable(*self.op_args, **kwargs))
        return self.python_callable(*self.op_args, **kwargs)


class BranchPythonOperator(PythonOperator, BranchMixIn):
    """The callable returns the task id(s) to follow; other direct downstream tasks are skipped."""

    inherits_from_skipmixin = True

    def execute(self, context: dict) -> Any:
        return self.do_branch(context, super().execute(context))


class ShortCircuitOperator(PythonOperator, SkipMixin):
    """A falsy return value skips what follows (all downstream, or only the direct ones)."""

    inherits_from_skipmixin = True

    def __init__(self, *, ignore_downstream_trigger_rules: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ignore_downstream_trigger_rules = ignore_downstream_trigger_rules

    def execute(self, context: dict) -> Any:
        condition = super().execute(context)
        self.log.info("Condition result is %s", condition)
        if condition:
            self.log.info("Proceeding with downstream tasks...")
            return condition
        if not self.downstream_task_ids:
            self.log.info("No downstream tasks; nothing to do.")
            return condition
        task = context.get("task") or self
        if self.ignore_downstream_trigger_rules:
            tasks = task.get_flat_relatives(upstream=False)
        else:
            tasks = task.get_direct_relatives(upstream=False)
        to_skip = [t for t in tasks if not t.is_teardown]
        self.log.info("Skipping downstream tasks")
        self.skip(context["ti"], to_skip)
        self.log.info("Done.")
        return condition
