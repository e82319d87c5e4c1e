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
from leoflow.sdk.exceptions import AirflowException, TaskDeferralError, TaskDeferralTimeout, TaskDeferred
from leoflow.sdk.params import ParamsDict
from leoflow.sdk.setup_teardown import CONTEXT as _SETUP_TEARDOWN
from leoflow.sdk.taskgroup import TaskGroup, current_group

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
        group = kwargs.get("task_group") or (current_group(dag) if dag is not None else None)
        if group is not None and group.default_args:
            defaults.update(group.default_args)  # a group's default_args beat the DAG's
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
        if depth == 0 and not DETACHED[0]:
            self._after_init()

    wrapper._leoflow_applies_defaults = True
    return wrapper


def _utc(value):
    if not isinstance(value, dt.datetime):
        return value
    from leoflow.sdk.timezone import convert_to_utc

    return convert_to_utc(value)


# True while mapping builds one map index's operator: it joins no DAG, so it makes no edges.
DETACHED = [False]


def base_operator_arg_names() -> frozenset[str]:
    """The keyword arguments BaseOperator itself takes (the rest belong to the subclass)."""
    global _BASE_NAMES
    if _BASE_NAMES is None:
        params = list(inspect.signature(BaseOperator.__init__).parameters.values())[1:]
        _BASE_NAMES = frozenset(p.name for p in params if p.kind not in _VARIADIC)
    return _BASE_NAMES


_BASE_NAMES: frozenset[str] | None = None


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
    operator_extra_links: ClassVar[tuple] = ()  # BaseOperatorLink instances (see leoflow.sdk.links)
    shallow_copy_attrs: ClassVar[tuple[str, ...]] = ()
    custom_operator_name: str | None = None
    is_setup = False
    is_teardown = False
    is_mapped = False
    on_failure_fail_dagrun = False
    deferrable = False
    inherits_from_empty_operator = False  # EmptyOperator and its subclasses: True (Airflow's rule)
    start_from_trigger = False
    start_trigger_args = None
    task_group: TaskGroup | None = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name in ("template_fields", "template_ext"):
            if isinstance(cls.__dict__.get(name), str):
                setattr(cls, name, (cls.__dict__[name],))  # a lone string means one field, as Airflow reads it
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
        dag = dag or current_dag() or (task_group.dag if task_group is not None else None)
        group = task_group if task_group is not None else (current_group(dag) if dag is not None else None)
        self.task_id = group.child_id(task_id) if group is not None else task_id
        self.owner = owner
        self.email = email
        self.email_on_retry = email_on_retry
        self.email_on_failure = email_on_failure
        self.retries = int(retries) if retries is not None else 0
        self.retry_delay = _seconds(retry_delay)
        self.retry_exponential_backoff = retry_exponential_backoff
        self.max_retry_delay = _seconds(max_retry_delay)
        self.start_date = _utc(start_date)  # aware and in UTC, as the DAG's (a naive one in the default zone)
        self.end_date = _utc(end_date)
        self.depends_on_past = bool(depends_on_past)
        self.ignore_first_depends_on_past = ignore_first_depends_on_past
        self.wait_for_past_depends_before_skipping = wait_for_past_depends_before_skipping
        self.wait_for_downstream = wait_for_downstream
        if wait_for_downstream:
            self.depends_on_past = True
        self.params = ParamsDict(params)
        self.priority_weight = priority_weight
        from leoflow.sdk.priority_strategy import normalize as _normalize_weight_rule

        self.weight_rule = _normalize_weight_rule(weight_rule)
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
        if run_as_user:
            raise NotImplementedError(f"Leoflow does not support run_as_user (task {task_id}) yet")
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
        self.doc = doc
        self.doc_md = doc_md
        self.doc_json = doc_json
        self.doc_yaml = doc_yaml
        self.doc_rst = doc_rst
        self.task_display_name = task_display_name or self.task_id
        self.logger_name = logger_name
        self.allow_nested_operators = allow_nested_operators
        self.render_template_as_native_obj = render_template_as_native_obj
        self.upstream_task_ids: set[str] = set()
        self.downstream_task_ids: set[str] = set()
        self._dag: DAG | None = None
        self.task_group = None
        if _SETUP_TEARDOWN.active:
            _SETUP_TEARDOWN.note_task(self)
        if group is not None:
            group.add(self)
        if dag is not None:
            self.dag = dag

    def _after_init(self) -> None:
        # XComArgs given to template fields make their producers upstream.
        from leoflow.sdk.xcomarg import find_xcomargs

        for name in self.template_fields:
            for arg in find_xcomargs(getattr(self, name, None)):
                for op in arg.upstream_operators():
                    if op is not self:
                        self.set_upstream(op)

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
    def _set_relatives(self, others, upstream: bool, edge_modifier=None) -> None:
        from leoflow.sdk.edges import split_labels

        labels, rest = split_labels(others)
        for label in labels:  # `a >> Label("x") >> b`: the label remembers a, then links a to b
            if upstream:
                label.set_downstream(self)
            else:
                label.set_upstream(self)
        tasks: list = []
        for item in rest:
            if isinstance(item, TaskGroup):
                item._note_relative(self, upstream=not upstream, edge_modifier=edge_modifier)
                tasks.extend(item.get_leaves() if upstream else item.get_roots())
            else:
                tasks.extend(as_operators(item))
        dag = self._dag or next((t.dag for t in tasks if t.dag is not None), None)
        for task in tasks:
            if dag is not None:
                if self._dag is None:
                    self.dag = dag
                if task.dag is None:
                    task.dag = dag
                if task.dag is not dag:
                    raise AirflowException("Tried to set relationships between tasks in more than one DAG")
            if task is self:
                raise AirflowException(f"Relationships can only be set between two different tasks ({self.task_id})")
            if upstream:
                self.upstream_task_ids.add(task.task_id)
                task.downstream_task_ids.add(self.task_id)
                if edge_modifier is not None and dag is not None:
                    edge_modifier.add_edge_info(dag, task.task_id, self.task_id)
            else:
                self.downstream_task_ids.add(task.task_id)
                task.upstream_task_ids.add(self.task_id)
                if edge_modifier is not None and dag is not None:
                    edge_modifier.add_edge_info(dag, self.task_id, task.task_id)

    def set_upstream(self, other, edge_modifier=None) -> None:
        self._set_relatives(other, upstream=True, edge_modifier=edge_modifier)

    def set_downstream(self, other, edge_modifier=None) -> None:
        self._set_relatives(other, upstream=False, edge_modifier=edge_modifier)

    # -- setup / teardown ---------------------------------------------------------
    def as_setup(self) -> "BaseOperator":
        self.is_setup = True
        return self

    def as_teardown(self, *, setups=None, on_failure_fail_dagrun: bool | None = None) -> "BaseOperator":
        self.is_teardown = True
        self.trigger_rule = "all_done_setup_success"
        if on_failure_fail_dagrun is not None:
            self.on_failure_fail_dagrun = on_failure_fail_dagrun
        if setups is not None:
            for s in setups if isinstance(setups, (list, tuple)) else [setups]:
                for op in as_operators(s):
                    op.is_setup = True
                    op.set_downstream(self)
        return self

    def __enter__(self):
        if not self.is_setup and not self.is_teardown:
            raise AirflowException("Only setup/teardown tasks can be used as context managers.")
        _SETUP_TEARDOWN.push(self)
        return _SETUP_TEARDOWN

    def __exit__(self, exc_type, exc, tb) -> None:
        _SETUP_TEARDOWN.pop()

    def iter_mapped_task_groups(self):
        return self.task_group.iter_mapped_task_groups() if self.task_group is not None else iter(())

    @property
    def upstream_list(self) -> list:
        return [self._dag.get_task(t) for t in sorted(self.upstream_task_ids)] if self._dag else []

    @property
    def downstream_list(self) -> list:
        return [self._dag.get_task(t) for t in sorted(self.downstream_task_ids)] if self._dag else []

    def get_direct_relatives(self, upstream: bool = False) -> list:
        return self.upstream_list if upstream else self.downstream_list

    def get_direct_relative_ids(self, upstream: bool = False) -> set[str]:
        return set(self.upstream_task_ids if upstream else self.downstream_task_ids)

    def get_flat_relative_ids(self, *, upstream: bool = False) -> set[str]:
        """Every task id reachable upstream (or downstream) from this task."""
        if self._dag is None:
            return set()
        seen: set[str] = set()
        todo = list(self.get_direct_relative_ids(upstream))
        while todo:
            tid = todo.pop()
            if tid in seen:
                continue
            seen.add(tid)
            todo.extend(self._dag.get_task(tid).get_direct_relative_ids(upstream))
        return seen

    def get_flat_relatives(self, upstream: bool = False) -> list:
        return [self._dag.get_task(t) for t in sorted(self.get_flat_relative_ids(upstream=upstream))] if self._dag else []

    @property
    def roots(self) -> list:
        return [self]

    @property
    def leaves(self) -> list:
        return [self]

    # -- mapping --------------------------------------------------------------
    @classmethod
    def partial(cls, **kwargs):
        from leoflow.sdk.mapping import PartialOperator

        return PartialOperator(cls, kwargs)

    def expand_for(self, map_index: int, pull) -> "BaseOperator":
        """This task for one map index of its mapped task group (itself when not in one).

        Arguments of the group's function become that index's values, and XComArgs
        from tasks of the same group are pulled from the same map index.
        """
        group = next(self.iter_mapped_task_groups(), None)
        if group is None:
            return self
        import copy

        from leoflow.sdk.taskgroup import MappedArgument
        from leoflow.sdk.xcomarg import ResolvedValue, XComArg

        from leoflow.sdk.exceptions import AirflowSkipException

        try:
            values = group.expand_input.resolve(map_index, lambda t, k: pull(t, k, None))
        except AirflowSkipException as skip:  # a `.map()` function skipped this index of the group
            from leoflow.sdk.mapping import skipped_index

            return skipped_index(self, map_index, skip)
        members = {t.task_id for t in group}

        def sub(value, templated: bool):
            if isinstance(value, MappedArgument) and value.key in values:
                v = values[value.key]
                return ResolvedValue(v) if templated else v
            if isinstance(value, XComArg) and not isinstance(value, ResolvedValue) and value.operator is not None \
                    and type(value) is XComArg and value.operator.task_id in members:
                v = pull(value.operator.task_id, value.key, map_index)
                return ResolvedValue(v) if templated else v
            if isinstance(value, list):
                return [sub(v, templated) for v in value]
            if isinstance(value, tuple) and not hasattr(value, "_fields"):
                return tuple(sub(v, templated) for v in value)
            if isinstance(value, dict):
                return {k: sub(v, templated) for k, v in value.items()}
            return value

        new = copy.copy(self)
        new.__dict__ = dict(self.__dict__)
        templated = set(self.template_fields)
        for name, value in self.__dict__.items():
            if name.startswith("_") or name in ("task_group", "upstream_task_ids", "downstream_task_ids"):
                continue
            new.__dict__[name] = sub(value, name in templated)
        new.map_index = map_index
        return new

    # -- running ------------------------------------------------------------
    def pre_execute(self, context) -> None:
        if self._pre_execute_hook is not None:
            self._pre_execute_hook(context)

    def execute(self, context) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement execute()")

    def defer(self, *, trigger, method_name: str, kwargs: dict | None = None, timeout=None) -> None:
        """Hand the waiting to the triggerer; `method_name` runs when the trigger fires."""
        raise TaskDeferred(trigger=trigger, method_name=method_name, kwargs=kwargs, timeout=timeout)

    def resume_execution(self, next_method: str, next_kwargs: dict | None, context):
        """Continue a deferred task in `next_method` (called by the task runtime)."""
        if next_method == "__fail__":
            next_kwargs = next_kwargs or {}
            for line in next_kwargs.get("traceback") or []:
                self.log.error("Trigger failed:\n%s", line)
            if next_kwargs.get("error") == "Trigger/execution timeout":
                raise TaskDeferralTimeout(next_kwargs.get("error"))
            raise TaskDeferralError(next_kwargs.get("error", "Unknown"))
        return getattr(self, next_method)(context, **(next_kwargs or {}))

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

    def _do_render_template_fields(self, parent, template_fields, context, jinja_env, seen_oids) -> None:
        """Render the named fields of `parent` in place (operators re-render a field they filled late)."""
        from leoflow.sdk.templating import render_value

        for name in template_fields:
            value = getattr(parent, name, None)
            if value is not None:
                setattr(parent, name, render_value(value, context, jinja_env, self.template_ext))


# BaseOperator's own __init__ takes default_args too (subclasses without an
# __init__ of their own inherit this wrapped one).
BaseOperator.__init__ = _apply_defaults(BaseOperator.__init__)

