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


def unique_task_id(task_id: str, dag, task_group=None) -> str:
    """`noop`, then `noop__1`, `noop__2`, ... within one DAG (Airflow's scheme; ids compared with group prefix)."""
    if dag is None:
        return task_id
    from leoflow.sdk.taskgroup import current_group

    group = task_group or current_group(dag)
    full = group.child_id(task_id) if group is not None else task_id
    if full not in dag.task_dict:
        return task_id
    prefix = re.split(r"__\d+$", full)[0]
    pattern = re.compile(rf"^{re.escape(prefix)}__(\d+)$")
    suffixes = [int(m.group(1)) for t in dag.task_dict if (m := pattern.match(t))]
    core = re.split(r"__\d+$", task_id)[0]
    return f"{core}__{max(suffixes, default=0) + 1}"


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


# The keys of a task's context (Airflow 3.2's `Context`): the runtime passes them to a function that names them.
CONTEXT_KEYS = frozenset({
    "conn", "dag", "dag_run", "data_interval_end", "data_interval_start", "outlet_events", "ds", "ds_nodash",
    "expanded_ti_count", "exception", "inlets", "inlet_events", "logical_date", "macros", "map_index_template",
    "outlets", "params", "prev_data_interval_start_success", "prev_data_interval_end_success",
    "prev_start_date_success", "prev_end_date_success", "reason", "run_id", "task", "task_reschedule_count",
    "task_instance", "task_instance_key_str", "templates_dict", "test_mode", "ti", "triggering_asset_events",
    "try_number", "ts", "ts_nodash", "ts_nodash_with_tz", "var",
})
_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
_VARIADIC = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


def with_default_args(func: Callable, args: tuple, kwargs: dict, default_args: dict) -> dict:
    """`kwargs` plus the function's parameters that default_args name (as Airflow fills them), except those
    already given by position."""
    if not default_args:
        return kwargs
    params = list(inspect.signature(func).parameters.values())
    by_position = {p.name for p in params[: len(args)] if p.kind in _POSITIONAL}
    filled = dict(kwargs)
    for p in params:
        if p.kind not in _VARIADIC and p.name in default_args and p.name not in filled and p.name not in by_position:
            filled[p.name] = default_args[p.name]
    return filled


def check_call(func: Callable, args: tuple, kwargs: dict) -> None:
    """Airflow's parse-time check of a `@task` call: the arguments must bind to the function, so a call
    that misses a required argument (or passes an unknown one) is an import error at the call's line,
    not a failure at run time. Context keys (`ti`, `ds`, ...) count as given: the runtime passes them;
    they may only default to None."""
    sig = inspect.signature(func)
    relaxed = []
    after_default = False
    required_anyway: set[str] = set()  # a parameter given a None default only to keep the order valid
    for p in sig.parameters.values():
        if p.kind not in _VARIADIC:
            if p.name in CONTEXT_KEYS:
                if p.default is not None and p.default is not p.empty:
                    raise ValueError(f"Context key parameter {p.name} can't have a default other than None")
                p = p.replace(default=None)
            elif p.kind in _POSITIONAL and p.default is p.empty and after_default:
                required_anyway.add(p.name)
                p = p.replace(default=None)
            if p.kind in _POSITIONAL and p.default is not p.empty:
                after_default = True
        relaxed.append(p)
    try:
        sig.replace(parameters=relaxed).bind(*args, **kwargs)
    except TypeError as exc:
        raise TypeError(str(exc)) from None  # inspect's own wording, as Airflow reports it
    positional = [p.name for p in relaxed if p.kind in _POSITIONAL]
    missing = required_anyway - set(positional[: len(args)]) - set(kwargs)
    if missing:
        raise TypeError(f"missing required argument(s): {', '.join(sorted(missing))}")


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


_PRIVATE_OPTIONS = ("_is_setup", "_is_teardown", "_on_failure_fail_dagrun")


class TaskDecorator:
    """What `@task` returns: call it to add a task, `.override()` to change options."""

    def __init__(self, function: Callable, operator_class: type, options: dict):
        self.function = function
        self.operator_class = operator_class
        self.options = options
        functools.update_wrapper(self, function)

    def __repr__(self) -> str:
        return f"<TaskDecorator {self.function.__name__} -> {self.operator_class.__name__}>"

    @property
    def is_setup(self) -> bool:
        return bool(self.options.get("_is_setup"))

    @property
    def is_teardown(self) -> bool:
        return bool(self.options.get("_is_teardown"))

    def _operator_kwargs(self) -> tuple[dict, dict]:
        options = dict(self.options)
        private = {k: options.pop(k) for k in _PRIVATE_OPTIONS if k in options}
        dag = options.get("dag") or current_dag()
        options["task_id"] = unique_task_id(options.pop("task_id", None) or self.function.__name__, dag,
                                            options.get("task_group"))
        multiple_outputs = options.pop("multiple_outputs", None)
        if multiple_outputs is None:
            multiple_outputs = _infers_multiple_outputs(self.function)
        options["multiple_outputs"] = multiple_outputs
        if private.get("_is_teardown") and "trigger_rule" in options:
            raise ValueError("Trigger rule not configurable for teardown tasks.")
        return options, private

    def _finish(self, op, private: dict):
        if self.function.__doc__ and not any((op.doc, op.doc_json, op.doc_md, op.doc_rst, op.doc_yaml)):
            op.doc_md = self.function.__doc__
        if private.get("_is_setup"):
            op.is_setup = True
        if private.get("_is_teardown"):
            op.is_teardown = True
            op.trigger_rule = "all_done_setup_success"
            op.on_failure_fail_dagrun = bool(private.get("_on_failure_fail_dagrun"))
        return XComArg(op)

    def __call__(self, *args: Any, **kwargs: Any) -> XComArg:
        kwargs = with_default_args(self.function, args, kwargs, self._default_args())
        check_call(self.function, args, kwargs)
        options, private = self._operator_kwargs()
        op = self.operator_class(python_callable=self.function, op_args=list(args), op_kwargs=kwargs, **options)
        return self._finish(op, private)

    def _default_args(self) -> dict:
        """The default_args this call's task gets: its DAG's, then its group's, then its own."""
        from leoflow.sdk.taskgroup import current_group

        dag = self.options.get("dag") or current_dag()
        group = self.options.get("task_group") or (current_group(dag) if dag is not None else None)
        merged = dict(dag.default_args) if dag is not None else {}
        merged.update(getattr(group, "default_args", None) or {})
        merged.update(self.options.get("default_args") or {})
        return merged

    def override(self, **options: Any) -> "TaskDecorator":
        return TaskDecorator(self.function, self.operator_class, {**self.options, **options})

    # -- mapping ------------------------------------------------------------
    def partial(self, **kwargs: Any) -> "_DecoratedPartial":
        return _DecoratedPartial(self, kwargs)

    def expand(self, **mapped: Any) -> XComArg:
        return _DecoratedPartial(self, {}).expand(**mapped)

    def expand_kwargs(self, kwargs: Any, *, strict: bool = True) -> XComArg:
        return _DecoratedPartial(self, {}).expand_kwargs(kwargs)


class _DecoratedPartial:
    def __init__(self, deco: TaskDecorator, kwargs: dict):
        self.deco = deco
        self.kwargs = kwargs
        params = inspect.signature(deco.function).parameters
        self._accepts_any = any(p.kind == inspect.Parameter.VAR_KEYWORD for p in params.values())
        self._params = params
        for name in kwargs:
            self._check(name, "partial")

    def _check(self, name: str, how: str) -> None:
        if name not in self._params and not self._accepts_any:
            raise TypeError(f"{self.deco.function.__name__}() got an unexpected keyword argument {name!r} in {how}()")

    def _partial_operator(self):
        from leoflow.sdk.mapping import PartialOperator

        options, private = self.deco._operator_kwargs()
        kwargs = {**options, "python_callable": self.deco.function, "op_args": [], "op_kwargs": dict(self.kwargs)}
        return PartialOperator(self.deco.operator_class, kwargs, mapped_into="op_kwargs"), private

    def expand(self, **mapped: Any) -> XComArg:
        if not mapped:
            raise TypeError("no arguments to expand against")
        for name in mapped:
            self._check(name, "expand")
            if name in self.kwargs:
                raise TypeError(f"{self.deco.function.__name__}: {name!r} is already set by partial()")
        partial, private = self._partial_operator()
        return self.deco._finish(partial.expand(**mapped), private)

    def expand_kwargs(self, kwargs: Any, *, strict: bool = True) -> XComArg:
        partial, private = self._partial_operator()
        return self.deco._finish(partial.expand_kwargs(kwargs), private)


def _decorator(operator_class_or_factory):
    def make(python_callable: Callable | None = None, multiple_outputs: bool | None = None, **options: Any):
        def wrap(func: Callable) -> TaskDecorator:
            operator_class = operator_class_or_factory
            if not isinstance(operator_class, type):
                operator_class = operator_class()
            return TaskDecorator(func, operator_class, {"multiple_outputs": multiple_outputs, **options})

        return wrap(python_callable) if callable(python_callable) else wrap

    return make


def _lazy(module: str, name: str):
    def load():
        import importlib

        return getattr(importlib.import_module(module), name)

    return load


DECORATED_CLASSES: dict[str, Callable[[], type]] = {}  # class name -> loader (for import paths)


def _named(base_loader, label: str, class_name: str):
    """A subclass of an operator whose only change is its custom operator name (`@task.x`)."""
    cache: dict = {}

    def load():
        if "cls" not in cache:
            base = base_loader()
            cache["cls"] = type(class_name, (base,), {"custom_operator_name": label, "__module__": __name__,
                                                      "__qualname__": class_name})
        return cache["cls"]

    DECORATED_CLASSES[class_name] = load

    return load


def _condition_decorator(condition: Callable, skip_message: str | None, run: bool):
    """`@task.run_if(cond)` / `@task.skip_if(cond)` on top of a `@task...` decorator."""
    from leoflow.sdk.exceptions import AirflowSkipException

    def wrap(deco):
        if not isinstance(deco, TaskDecorator):
            raise TypeError("run_if/skip_if must decorate a @task-decorated function (put it above @task)")
        previous = deco.options.get("pre_execute")

        def pre_execute(context):
            if previous is not None:
                previous(context)
            result = bool(condition(context))
            if result != run:
                raise AirflowSkipException(skip_message or ("Task was skipped due to the run_if condition."
                                                            if run else "Task was skipped due to the skip_if condition."))

        return deco.override(pre_execute=pre_execute)

    return wrap


_PY = "leoflow.sdk.operators.python"
_VENV = "leoflow.sdk.operators.python_venv"


class _TaskNamespace:
    """`task` itself plus its flavours (`task.bash`, `task.branch`, ...)."""

    python = staticmethod(_decorator(_PythonDecoratedOperator))
    bash = staticmethod(_decorator(_BashDecoratedOperator))
    branch = staticmethod(_decorator(_named(_lazy(_PY, "BranchPythonOperator"), "@task.branch",
                                            "_BranchPythonDecoratedOperator")))
    short_circuit = staticmethod(_decorator(_named(_lazy(_PY, "ShortCircuitOperator"), "@task.short_circuit",
                                                   "_ShortCircuitDecoratedOperator")))
    sensor = staticmethod(_decorator(_lazy("leoflow.sdk.sensors.standard", "DecoratedSensorOperator")))
    virtualenv = staticmethod(_decorator(_named(_lazy(_VENV, "PythonVirtualenvOperator"), "@task.virtualenv",
                                                "_PythonVirtualenvDecoratedOperator")))
    external_python = staticmethod(_decorator(_named(_lazy(_VENV, "ExternalPythonOperator"), "@task.external_python",
                                                     "_PythonExternalDecoratedOperator")))
    branch_virtualenv = staticmethod(_decorator(_named(_lazy(_VENV, "BranchPythonVirtualenvOperator"),
                                                       "@task.branch_virtualenv", "_BranchPythonVirtualenvDecoratedOperator")))
    branch_external_python = staticmethod(_decorator(_named(
        _lazy(_VENV, "BranchExternalPythonOperator"), "@task.branch_external_python",
        "_BranchExternalPythonDecoratedOperator")))

    @staticmethod
    def run_if(condition: Callable, skip_message: str | None = None):
        return _condition_decorator(condition, skip_message, run=True)

    @staticmethod
    def skip_if(condition: Callable, skip_message: str | None = None):
        return _condition_decorator(condition, skip_message, run=False)

    def __call__(self, python_callable=None, multiple_outputs=None, **options):
        return self.python(python_callable, multiple_outputs=multiple_outputs, **options)

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        raise AttributeError(f"Leoflow does not support @task.{name} yet")


task = _TaskNamespace()


get_unique_task_id = unique_task_id  # Airflow's name


def __getattr__(name: str):
    """The names providers build their own `@task.x` decorators from (`airflow.sdk.bases.decorator`),
    kept in leoflow.sdk.compat.decorator_base and loaded only when one is asked for."""
    from leoflow.sdk.compat import decorator_base

    if name in decorator_base.PROVIDER_NAMES:
        return getattr(decorator_base, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
