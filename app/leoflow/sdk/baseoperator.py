"""BaseOperator: one task in a DAG, with Airflow 3.2's fields and defaults.

Subclasses only write `__init__` and `execute`. `default_args` (the DAG's and
the operator's own) fill any `__init__` parameter the caller left out, at
every level of the subclass chain, as Airflow does.
"""

from __future__ import annotations

import datetime as dt
import functools
import inspect
import logging
from typing import Any, ClassVar

from leoflow.sdk import trigger_rule as _trigger_rule
from leoflow.sdk.dag import DAG, current_dag, validate_key
from leoflow.sdk.dependencies import DependencyMixin, as_operators
from leoflow.sdk.exceptions import AirflowException
from leoflow.sdk.params import ParamsDict

DEFAULT_RETRY_DELAY = dt.timedelta(seconds=300)
_VARIADIC = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


def _apply_defaults(init):
    """Wrap an `__init__` so default_args fill the parameters not passed."""
    names: list[str] | None = None

    @functools.wraps(init)
    def wrapper(self, *args, **kwargs):
        nonlocal names
        if names is None:
            params = list(inspect.signature(init).parameters.values())[1:]
            names = [p.name for p in params if p.kind not in _VARIADIC]
        dag = kwargs.get("dag") or current_dag()
        defaults = dict(dag.default_args) if dag is not None else {}
        defaults.update(kwargs.get("default_args") or {})
        if defaults:
            given = set(names[: len(args)]) | set(kwargs)
            for name in names:
                if name not in given and name in defaults and name not in ("dag", "default_args"):
                    kwargs[name] = defaults[name]
        # Only the outermost __init__ finishes the task (XComArg edges from fields).
        depth = self.__dict__.get("_init_depth", 0)
        self.__dict__["_init_depth"] = depth + 1
        try:
            init(self, *args, **kwargs)
        finally:
            self.__dict__["_init_depth"] = depth
        if depth == 0:
            self._after_init()

    wrapper._leoflow_applies_defaults = True
    return wrapper


def _seconds(value):
    if value is None or isinstance(value, dt.timedelta):
        return value
    return dt.timedelta(seconds=value)


class BaseOperator(DependencyMixin):
    template_fields: ClassVar[tuple[str, ...]] = ()
    template_ext: ClassVar[tuple[str, ...]] = ()
    template_fields_renderers: ClassVar[dict[str, str]] = {}
    ui_color: str = "#fff"
    ui_fgcolor: str = "#000"
    shallow_copy_attrs: ClassVar[tuple[str, ...]] = ()
    custom_operator_name: str | None = None
    is_setup = False
    is_teardown = False
    is_mapped = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is not None and not getattr(init, "_leoflow_applies_defaults", False):
            cls.__init__ = _apply_defaults(init)

    def __init__(
        self,
        *,
        task_id: str,
        owner: str = "airflow",
        email: str | list[str] | None = None,
        email_on_retry: bool = True,
        email_on_failure: bool = True,
        retries: int | None = 0,
        retry_delay: dt.timedelta | float = DEFAULT_RETRY_DELAY,
        retry_exponential_backoff: float = 0,
        max_retry_delay: dt.timedelta | float | None = None,
        start_date: dt.datetime | None = None,
        end_date: dt.datetime | None = None,
        depends_on_past: bool = False,
        ignore_first_depends_on_past: bool = True,
        wait_for_past_depends_before_skipping: bool = False,
        wait_for_downstream: bool = False,
        dag: DAG | None = None,
        params: dict | None = None,
        default_args: dict | None = None,
        priority_weight: int = 1,
        weight_rule: str = "downstream",
        queue: str = "default",
        pool: str | None = None,
        pool_slots: int = 1,
        sla: Any = None,
        execution_timeout: dt.timedelta | None = None,
        on_execute_callback: Any = None,
        on_failure_callback: Any = None,
        on_success_callback: Any = None,
        on_retry_callback: Any = None,
        on_skipped_callback: Any = None,
        pre_execute: Any = None,
        post_execute: Any = None,
        trigger_rule: str = "all_success",
        resources: dict | None = None,
        run_as_user: str | None = None,
        map_index_template: str | None = None,
        max_active_tis_per_dag: int | None = None,
        max_active_tis_per_dagrun: int | None = None,
        executor: str | None = None,
        executor_config: dict | None = None,
        do_xcom_push: bool = True,
        multiple_outputs: bool = False,
        inlets: Any = None,
        outlets: Any = None,
        task_group: Any = None,
        doc: str | None = None,
        doc_md: str | None = None,
        doc_json: str | None = None,
        doc_yaml: str | None = None,
        doc_rst: str | None = None,
        task_display_name: str | None = None,
        logger_name: str | None = None,
        allow_nested_operators: bool = True,
        render_template_as_native_obj: bool | None = None,
        **kwargs: Any,
    ):
        if kwargs:
            # Same strictness as Airflow 3: a typo in an argument is an import error.
            raise TypeError(
                f"Invalid arguments were passed to {type(self).__name__} (task_id: {task_id}). "
                f"Invalid arguments were:\n**kwargs: {kwargs}"
            )
        validate_key(task_id)
        self.task_id = task_id
        self.owner = owner
        self.email = email
        self.email_on_retry = email_on_retry
        self.email_on_failure = email_on_failure
        self.retries = int(retries) if retries is not None else 0
        self.retry_delay = _seconds(retry_delay)
        self.retry_exponential_backoff = retry_exponential_backoff
        self.max_retry_delay = _seconds(max_retry_delay)
        self.start_date = start_date
        self.end_date = end_date
        self.depends_on_past = bool(depends_on_past)
        self.ignore_first_depends_on_past = ignore_first_depends_on_past
        self.wait_for_past_depends_before_skipping = wait_for_past_depends_before_skipping
        self.wait_for_downstream = wait_for_downstream
        if wait_for_downstream:
            self.depends_on_past = True
        self.params = ParamsDict(params)
        self.priority_weight = priority_weight
        self.weight_rule = str(getattr(weight_rule, "value", weight_rule))
        self.queue = queue
        self.pool = pool or "default_pool"
        self.pool_slots = pool_slots
        if pool_slots < 1:
            raise ValueError(f"pool slots for {task_id} in dag {getattr(dag, 'dag_id', None)} cannot be less than 1")
        self.sla = sla
        self.execution_timeout = _seconds(execution_timeout)
        self.on_execute_callback = on_execute_callback
        self.on_failure_callback = on_failure_callback
        self.on_success_callback = on_success_callback
        self.on_retry_callback = on_retry_callback
        self.on_skipped_callback = on_skipped_callback
        self._pre_execute_hook = pre_execute
        self._post_execute_hook = post_execute
        self.trigger_rule = _trigger_rule.normalize(trigger_rule)
        self.resources = resources
        self.run_as_user = run_as_user
        self.map_index_template = map_index_template
        self.max_active_tis_per_dag = max_active_tis_per_dag
        self.max_active_tis_per_dagrun = max_active_tis_per_dagrun
        self.executor = executor
        self.executor_config = executor_config or {}
        self.do_xcom_push = do_xcom_push
        self.multiple_outputs = multiple_outputs
        self.inlets = list(inlets) if isinstance(inlets, (list, tuple)) else ([inlets] if inlets else [])
        self.outlets = list(outlets) if isinstance(outlets, (list, tuple)) else ([outlets] if outlets else [])
        if task_group is not None:
            raise NotImplementedError("Leoflow does not support task groups yet")
        self.task_group = None
        self.doc = doc
        self.doc_md = doc_md
        self.doc_json = doc_json
        self.doc_yaml = doc_yaml
        self.doc_rst = doc_rst
        self.task_display_name = task_display_name or task_id
        self.logger_name = logger_name
        self.allow_nested_operators = allow_nested_operators
        self.render_template_as_native_obj = render_template_as_native_obj
        self.upstream_task_ids: set[str] = set()
        self.downstream_task_ids: set[str] = set()
        self._dag: DAG | None = None
        dag = dag or current_dag()
        if dag is not None:
            self.dag = dag

    def _after_init(self) -> None:
        # XComArgs given to template fields make their producers upstream.
        from leoflow.sdk.xcomarg import find_xcomargs

        for name in self.template_fields:
            for arg in find_xcomargs(getattr(self, name, None)):
                self.set_upstream(arg.operator)

    def __repr__(self) -> str:
        return f"<Task({type(self).__name__}): {self.task_id}>"

    # -- identity -----------------------------------------------------------
    @property
    def task_type(self) -> str:
        return type(self).__name__

    @property
    def operator_name(self) -> str:
        return self.custom_operator_name or type(self).__name__

    @property
    def dag(self) -> DAG | None:
        return self._dag

    @dag.setter
    def dag(self, dag: DAG) -> None:
        if self._dag is dag:
            return
        if self._dag is not None:
            raise AirflowException(f"The DAG assigned to {self} can not be changed.")
        dag.add_task(self)

    def has_dag(self) -> bool:
        return self._dag is not None

    def get_dag(self) -> DAG | None:
        return self._dag

    @property
    def dag_id(self) -> str:
        return self._dag.dag_id if self._dag else f"adhoc_{self.owner}"

    @property
    def output(self):
        from leoflow.sdk.xcomarg import XComArg

        return XComArg(self)

    @property
    def log(self) -> logging.Logger:
        return logging.getLogger(f"airflow.task.operators.{type(self).__module__}.{type(self).__name__}")

    # -- relationships ------------------------------------------------------
    def _set_relatives(self, others, upstream: bool) -> None:
        tasks = as_operators(others)
        dag = self._dag or next((t.dag for t in tasks if t.dag is not None), None)
        for task in tasks:
            if dag is not None:
                if self._dag is None:
                    self.dag = dag
                if task.dag is None:
                    task.dag = dag
                if task.dag is not dag:
                    raise AirflowException("Tried to set relationships between tasks in more than one DAG")
            if upstream:
                self.upstream_task_ids.add(task.task_id)
                task.downstream_task_ids.add(self.task_id)
            else:
                self.downstream_task_ids.add(task.task_id)
                task.upstream_task_ids.add(self.task_id)

    def set_upstream(self, other) -> None:
        self._set_relatives(other, upstream=True)

    def set_downstream(self, other) -> None:
        self._set_relatives(other, upstream=False)

    @property
    def upstream_list(self) -> list:
        return [self._dag.get_task(t) for t in sorted(self.upstream_task_ids)] if self._dag else []

    @property
    def downstream_list(self) -> list:
        return [self._dag.get_task(t) for t in sorted(self.downstream_task_ids)] if self._dag else []

    def get_direct_relatives(self, upstream: bool = False) -> list:
        return self.upstream_list if upstream else self.downstream_list

    @property
    def roots(self) -> list:
        return [self]

    @property
    def leaves(self) -> list:
        return [self]

    # -- mapping (not yet) ----------------------------------------------------
    @classmethod
    def partial(cls, *args, **kwargs):
        raise NotImplementedError("Leoflow does not support dynamic task mapping (partial/expand) yet")

    # -- running ------------------------------------------------------------
    def pre_execute(self, context) -> None:
        if self._pre_execute_hook is not None:
            self._pre_execute_hook(context)

    def execute(self, context) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement execute()")

    def post_execute(self, context, result=None) -> None:
        if self._post_execute_hook is not None:
            self._post_execute_hook(context, result)

    def on_kill(self) -> None:
        """Called when the task is stopped from outside; subclasses clean up here."""

    def prepare_template(self) -> None:
        """Hook to change fields after template files are loaded (Airflow API)."""

    def render_template_fields(self, context, jinja_env=None) -> None:
        from leoflow.sdk.templating import render_task_fields

        render_task_fields(self, context, jinja_env)

    def render_template(self, content, context, jinja_env=None, seen_oids=None):
        from leoflow.sdk.templating import render_value, template_env

        env = jinja_env or template_env(self._dag, self)
        return render_value(content, context, env, self.template_ext)

    def get_template_env(self):
        from leoflow.sdk.templating import template_env

        return template_env(self._dag, self)


# BaseOperator's own __init__ takes default_args too (subclasses without an
# __init__ of their own inherit this wrapped one).
BaseOperator.__init__ = _apply_defaults(BaseOperator.__init__)
