"""The DAG: a named graph of tasks plus when and how often it runs.

A `with DAG(...)` block (or calling a `@dag` function) makes the DAG
"current" so operators created inside attach to it without being told.
Every DAG that finishes such a block is remembered in `_created`, because
Airflow 3 registers DAGs defined in a file even when nothing holds them.
"""

from __future__ import annotations

import datetime as dt
import functools
import inspect
import re
from typing import Any

from leoflow.sdk.exceptions import AirflowDagCycleException, DuplicateTaskIdFound, TaskNotFound
from leoflow.sdk.params import ParamsDict

_stack: list["DAG"] = []  # DAGs whose `with` block is open, innermost last
_created: list["DAG"] = []  # DAGs completed since the last collection

_KEY_RE = re.compile(r"^[\w.-]+$")  # Airflow's allowed id characters
_PRESETS = {"@once", "@continuous", "@hourly", "@daily", "@weekly", "@monthly",
            "@quarterly", "@yearly", "@annually"}


def validate_key(key: str, max_length: int = 250) -> None:
    if not isinstance(key, str):
        raise TypeError(f"The key has to be a string and is {type(key)}:{key}")
    if len(key) > max_length:
        raise ValueError(f"The key {key!r} has to be less than {max_length} characters")
    if not _KEY_RE.match(key):
        raise ValueError(
            f"The key {key!r} has to be made of alphanumeric characters, dashes, "
            "dots, and underscores exclusively"
        )


def current_dag() -> "DAG | None":
    return _stack[-1] if _stack else None


def take_created() -> list["DAG"]:
    """Hand over (and forget) the DAGs registered since the last call."""
    out = list(_created)
    _created.clear()
    return out


def _check_schedule(schedule) -> None:
    # Every schedule form is turned into its document now, so an unsupported
    # one fails at parse time with a message naming it.
    from leoflow.sdk.serialize import schedule_doc

    schedule_doc(schedule)


class DAG:
    def __init__(
        self,
        dag_id: str,
        description: str | None = None,
        schedule: Any = None,
        start_date: dt.datetime | None = None,
        end_date: dt.datetime | None = None,
        template_searchpath: str | list[str] | None = None,
        template_undefined: Any = None,
        user_defined_macros: dict | None = None,
        user_defined_filters: dict | None = None,
        default_args: dict | None = None,
        max_active_tasks: int = 16,
        max_active_runs: int = 16,
        max_consecutive_failed_dag_runs: int = 0,
        dagrun_timeout: dt.timedelta | None = None,
        sla_miss_callback: Any = None,
        catchup: bool = False,
        on_success_callback: Any = None,
        on_failure_callback: Any = None,
        doc_md: str | None = None,
        params: dict | None = None,
        access_control: dict | None = None,
        is_paused_upon_creation: bool | None = None,
        jinja_environment_kwargs: dict | None = None,
        render_template_as_native_obj: bool = False,
        tags: list[str] | None = None,
        owner_links: dict[str, str] | None = None,
        auto_register: bool = True,
        fail_fast: bool = False,
        dag_display_name: str | None = None,
        disable_bundle_versioning: bool = False,
        deadline: Any = None,
        allowed_run_types: Any = None,
    ):
        validate_key(dag_id)
        _check_schedule(schedule)
        for name, value in (("deadline", deadline), ("allowed_run_types", allowed_run_types)):
            if value is not None:
                raise NotImplementedError(f"Leoflow does not support DAG({name}=...) yet")
        self.dag_id = dag_id
        self.description = description
        self.schedule = schedule
        self.default_args = dict(default_args or {})
        # Like Airflow, a start/end date may come from default_args.
        start_date = start_date or self.default_args.get("start_date")
        end_date = end_date or self.default_args.get("end_date")
        if isinstance(start_date, str) or isinstance(end_date, str):
            raise TypeError("start_date and end_date must be datetimes, not strings")
        # The DAG's zone is its start date's, else the default one; its dates are then kept in UTC (a naive
        # date read in that zone), as Airflow does, so they compare and subtract with the run's dates.
        self.timezone = _timezone_of(start_date)
        self.start_date = _utc(start_date)
        self.end_date = _utc(end_date)
        for key in ("start_date", "end_date"):
            if isinstance(self.default_args.get(key), dt.datetime):
                self.default_args[key] = _utc(self.default_args[key])
        if isinstance(template_searchpath, str):
            template_searchpath = [template_searchpath]
        self.template_searchpath = template_searchpath
        self.template_undefined = template_undefined
        self.user_defined_macros = user_defined_macros
        self.user_defined_filters = user_defined_filters
        self.max_active_tasks = max_active_tasks
        self.max_active_runs = max_active_runs
        self.max_consecutive_failed_dag_runs = max_consecutive_failed_dag_runs
        self.dagrun_timeout = dagrun_timeout
        self.catchup = bool(catchup)
        self.on_success_callback = on_success_callback
        self.on_failure_callback = on_failure_callback
        self.doc_md = doc_md
        self.params = ParamsDict(self.default_args.get("params"))
        self.params.update(params or {})
        self.access_control = access_control
        self.is_paused_upon_creation = is_paused_upon_creation
        self.jinja_environment_kwargs = jinja_environment_kwargs
        self.render_template_as_native_obj = bool(render_template_as_native_obj)
        self.tags = set(tags or [])
        self.owner_links = dict(owner_links or {})
        self.auto_register = bool(auto_register)
        self.fail_fast = bool(fail_fast)
        self.dag_display_name = dag_display_name or dag_id
        self.disable_bundle_versioning = disable_bundle_versioning
        self.deadline = deadline
        self.allowed_run_types = allowed_run_types
        self.task_dict: dict[str, Any] = {}
        self.edge_info: dict[str, dict[str, dict]] = {}
        self.fileloc = _caller_file()
        from leoflow.sdk.taskgroup import TaskGroup

        self.task_group = TaskGroup(None, dag=self)  # the root group

    def __repr__(self) -> str:
        return f"<DAG: {self.dag_id}>"

    # -- context manager: operators created inside attach to this DAG ----
    def __enter__(self) -> "DAG":
        _stack.append(self)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        _stack.pop()
        if exc_type is None and self.auto_register:
            _register(self)

    # -- tasks ----------------------------------------------------------
    def add_task(self, task) -> None:
        if task.task_id in self.task_dict and self.task_dict[task.task_id] is not task:
            raise DuplicateTaskIdFound(f"Task id '{task.task_id}' has already been added to the DAG")
        if task.task_id in self.task_group.used_group_ids:
            raise DuplicateTaskIdFound(f"Task id '{task.task_id}' has already been added to the DAG as a task group")
        self.task_dict[task.task_id] = task
        task._dag = self
        # A task runs within the DAG's dates: its own start (end) date if later (earlier), else the DAG's.
        if not task.start_date:
            task.start_date = self.start_date
        elif self.start_date:
            task.start_date = max(task.start_date, self.start_date)
        if not task.end_date:
            task.end_date = self.end_date
        elif self.end_date:
            task.end_date = min(task.end_date, self.end_date)
        if task.task_group is None:
            self.task_group.add(task)

    @property
    def task(self):
        """`@dag_object.task`: the `task` decorator bound to this DAG."""
        from leoflow.sdk.decorators import task

        return functools.partial(task, dag=self)

    def param(self, name: str, default: Any = None) -> "DagParam":
        """A reference to a DAG param, resolved from the run's params when a task renders it."""
        from leoflow.sdk.params import DagParam

        return DagParam(self, name, default)

    @property
    def task_group_dict(self) -> dict:
        return {k: v for k, v in self.task_group.get_task_group_dict().items() if k is not None}

    def set_edge_info(self, upstream_task_id: str, downstream_task_id: str, info: dict) -> None:
        self.edge_info.setdefault(upstream_task_id, {})[downstream_task_id] = dict(info)

    def get_edge_info(self, upstream_task_id: str, downstream_task_id: str) -> dict:
        return self.edge_info.get(upstream_task_id, {}).get(downstream_task_id, {})

    @property
    def timetable(self):
        from leoflow.sdk.timetables import as_timetable

        return as_timetable(self.schedule)

    def iter_dagrun_infos_between(self, *args, **kwargs):
        raise NotImplementedError("Leoflow does not support DAG.iter_dagrun_infos_between in DAG files yet")

    def add_tasks(self, tasks) -> None:
        for task in tasks:
            self.add_task(task)

    @property
    def tasks(self) -> list:
        return list(self.task_dict.values())

    @property
    def task_ids(self) -> list[str]:
        return list(self.task_dict)

    def has_task(self, task_id: str) -> bool:
        return task_id in self.task_dict

    def get_task(self, task_id: str):
        try:
            return self.task_dict[task_id]
        except KeyError:
            raise TaskNotFound(f"Task {task_id} not found") from None

    @property
    def roots(self) -> list:
        return [t for t in self.tasks if not t.upstream_task_ids]

    @property
    def leaves(self) -> list:
        return [t for t in self.tasks if not t.downstream_task_ids]

    @property
    def owner(self) -> str:
        return ", ".join(sorted({t.owner for t in self.tasks}))

    @property
    def folder(self) -> str:
        import os

        return os.path.dirname(self.fileloc)

    def topological_sort(self) -> list:
        """Tasks so every task comes after its upstreams; raises on a cycle."""
        order: list = []
        state: dict[str, int] = {}  # 1 = on the current path, 2 = done
        for root in self.task_dict:
            if state.get(root):
                continue
            # Iterative depth-first walk: long chains must not hit the recursion limit.
            state[root] = 1
            stack = [(root, iter(sorted(self.task_dict[root].upstream_task_ids)))]
            while stack:
                task_id, ups = stack[-1]
                for up in ups:
                    mark = state.get(up)
                    if mark == 1:
                        raise AirflowDagCycleException(
                            f"Cycle detected in DAG: {self.dag_id}. Faulty task: {up}"
                        )
                    if mark is None:
                        state[up] = 1
                        stack.append((up, iter(sorted(self.task_dict[up].upstream_task_ids))))
                        break
                else:
                    stack.pop()
                    state[task_id] = 2
                    order.append(self.task_dict[task_id])
        return order

    def check_cycle(self) -> None:
        self.topological_sort()

    def validate(self) -> None:
        """Airflow's checks before a DAG is accepted (the parser calls this after the file ran)."""
        from leoflow.sdk.exceptions import ParamValidationError

        if self.schedule is not None:
            try:
                self.params.validate()
            except ParamValidationError as exc:
                raise ValueError(
                    f"Dag {self.dag_id!r} is not allowed to define a Schedule, as there are required params "
                    "without default values, or the default values are not valid."
                ) from exc
        for task in self.tasks:
            if task.is_setup:
                for down in task.downstream_list:
                    if not down.is_teardown and down.trigger_rule != "all_success":
                        raise ValueError("Setup tasks must be followed with trigger rule ALL_SUCCESS.")
        self.check_cycle()

    def get_template_env(self, force_sandboxed: bool = False):
        from leoflow.sdk.templating import template_env

        return template_env(self)

    def test(self, *args, **kwargs):
        raise NotImplementedError("Leoflow does not support dag.test() yet; use `leoflow dags test`")


def _timezone_of(start_date):
    from leoflow.sdk import timezone

    if isinstance(start_date, dt.datetime) and start_date.utcoffset() is not None:
        return start_date.tzinfo
    return timezone.default_timezone()


def _utc(value):
    from leoflow.sdk import timezone

    if isinstance(value, dt.datetime):
        return timezone.convert_to_utc(value)
    return value  # None, or a date Airflow would refuse later: left for the serializer to judge


def _register(dag: DAG) -> None:
    if all(d is not dag for d in _created):
        _created.append(dag)


def _caller_file() -> str:
    # The first frame outside this package is the DAG file that built the DAG.
    frame = inspect.currentframe()
    while frame is not None:
        name = frame.f_globals.get("__name__", "")
        if not name.startswith("leoflow.sdk"):
            return frame.f_code.co_filename
        frame = frame.f_back
    return ""


def dag(dag_id_or_func=None, **dag_kwargs):
    """`@dag` / `@dag(...)`: calling the decorated function builds the DAG.

    The function's keyword defaults become DAG params and its docstring the
    doc_md, as in Airflow.
    """

    def wrap(func):
        sig = inspect.signature(func)

        @functools.wraps(func)
        def factory(*args, **kwargs):
            kwargs_for_dag = dict(dag_kwargs)
            kwargs_for_dag.setdefault("dag_id", func.__name__)
            new_dag = DAG(**kwargs_for_dag)
            if new_dag.doc_md is None and func.__doc__:
                new_dag.doc_md = inspect.cleandoc(func.__doc__)
            new_dag.fileloc = func.__code__.co_filename
            bound = sig.bind_partial(*args, **kwargs)
            bound.apply_defaults()
            for name, value in bound.arguments.items():
                if sig.parameters[name].kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
                    continue
                new_dag.params.setdefault(name, value)
            with new_dag:
                func(*bound.args, **bound.kwargs)
            return new_dag

        return factory

    if callable(dag_id_or_func) and not isinstance(dag_id_or_func, str):
        return wrap(dag_id_or_func)
    if isinstance(dag_id_or_func, str):
        dag_kwargs["dag_id"] = dag_id_or_func
    return wrap
