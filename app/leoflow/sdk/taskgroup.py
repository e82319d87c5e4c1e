"""TaskGroup: a named box of tasks; ids inside get the group's prefix.

`with TaskGroup("g"):` (or calling a `@task_group` function) makes the group
current, so tasks created inside join it. `group >> x` links the group's
leaves to x, `x >> group` links x to its roots, as in Airflow. A mapped task
group (`@task_group` + `.expand()`) runs its whole body once per map index.
"""

from __future__ import annotations

import copy
import functools
import inspect
import re
from typing import Any

from leoflow.sdk.dependencies import DependencyMixin
from leoflow.sdk.exceptions import DuplicateTaskIdFound, TaskAlreadyInTaskGroup

_stack: list["TaskGroup"] = []  # groups whose `with` block is open, innermost last


def current_group(dag) -> "TaskGroup | None":
    """The innermost open group of `dag`, else the DAG's root group."""
    for group in reversed(_stack):
        if group.dag is dag:
            return group
    return dag.task_group if dag is not None else None


class TaskGroup(DependencyMixin):
    def __init__(
        self,
        group_id: str | None,
        prefix_group_id: bool = True,
        parent_group: "TaskGroup | None" = None,
        dag=None,
        default_args: dict | None = None,
        tooltip: str = "",
        ui_color: str = "CornflowerBlue",
        ui_fgcolor: str = "#000",
        add_suffix_on_collision: bool = False,
        group_display_name: str = "",
    ):
        from leoflow.sdk.dag import current_dag, validate_key

        self._group_id = group_id
        self.prefix_group_id = prefix_group_id
        self.tooltip = tooltip
        self.ui_color = ui_color
        self.ui_fgcolor = ui_fgcolor
        self.group_display_name = group_display_name
        self.default_args = copy.deepcopy(default_args or {})
        self.children: dict[str, Any] = {}
        self.upstream_group_ids: set[str] = set()
        self.downstream_group_ids: set[str] = set()
        self.upstream_task_ids: set[str] = set()
        self.downstream_task_ids: set[str] = set()
        if group_id is None:  # the root group of a DAG
            self.dag = dag
            self.parent_group = None
            self.used_group_ids: set[str] = set()
            return
        validate_key(group_id, max_length=200)
        if parent_group is None:
            dag = dag or (_stack[-1].dag if _stack else current_dag())
            if dag is None:
                raise RuntimeError("TaskGroup can only be used inside a dag")
            parent_group = current_group(dag)
        self.dag = dag or parent_group.dag
        self.parent_group = parent_group
        self.used_group_ids = parent_group.used_group_ids
        if self.group_id in self.used_group_ids or (self.dag and self.group_id in self.dag.task_dict):
            if not add_suffix_on_collision:
                raise DuplicateTaskIdFound(f"group_id '{self._group_id}' has already been added to the DAG")
            base = re.split(r"__\d+$", self._group_id)[0]
            n = 1
            while self._with_suffix(base, n) in self.used_group_ids:
                n += 1
            self._group_id = f"{base}__{n}"
        parent_group.add(self)
        if parent_group.default_args:
            self.default_args = {**parent_group.default_args, **self.default_args}
        self.used_group_ids.add(self.group_id)

    def _with_suffix(self, base: str, n: int) -> str:
        saved, self._group_id = self._group_id, f"{base}__{n}"
        try:
            return self.group_id
        finally:
            self._group_id = saved

    def __repr__(self) -> str:
        return f"<TaskGroup: {self.group_id}>"

    # -- ids ------------------------------------------------------------------
    @property
    def group_id(self) -> str | None:
        parent = self.parent_group
        if self._group_id and parent is not None and parent.prefix_group_id and parent._group_id:
            return parent.child_id(self._group_id)
        return self._group_id

    node_id = group_id

    @property
    def label(self) -> str | None:
        return self.group_display_name or self._group_id

    @property
    def is_root(self) -> bool:
        return not self._group_id

    @property
    def is_mapped(self) -> bool:
        return False

    def child_id(self, label: str) -> str:
        if self.prefix_group_id and self.group_id:
            return f"{self.group_id}.{label}"
        return label

    @property
    def upstream_join_id(self) -> str:
        return f"{self.group_id}.upstream_join_id"

    @property
    def downstream_join_id(self) -> str:
        return f"{self.group_id}.downstream_join_id"

    # -- membership -------------------------------------------------------------
    def add(self, node) -> Any:
        existing = getattr(node, "task_group", None)
        if not isinstance(node, TaskGroup) and existing is not None and existing is not self:
            raise TaskAlreadyInTaskGroup(
                f"cannot add {node.task_id!r} to {self.group_id!r} (already in {existing.group_id!r})"
            )
        key = node.group_id if isinstance(node, TaskGroup) else node.task_id
        if key in self.children and self.children[key] is not node:
            kind = "Task Group" if isinstance(node, TaskGroup) else "Task"
            raise DuplicateTaskIdFound(f"{kind} id '{key}' has already been added to the DAG")
        if not isinstance(node, TaskGroup):
            node.task_group = self
        self.children[key] = node
        return node

    def __iter__(self):
        for child in self.children.values():
            if isinstance(child, TaskGroup):
                yield from child
            else:
                yield child

    def has_task(self, task) -> bool:
        return any(t is task for t in self)

    def get_task_group_dict(self) -> dict[str | None, "TaskGroup"]:
        out: dict[str | None, TaskGroup] = {self.group_id: self}
        for child in self.children.values():
            if isinstance(child, TaskGroup):
                out.update(child.get_task_group_dict())
        return out

    def iter_mapped_task_groups(self):
        group: TaskGroup | None = self
        while group is not None:
            if group.is_mapped:
                yield group
            group = group.parent_group

    def get_child_by_label(self, label: str):
        return self.children[self.child_id(label)]

    # -- roots and leaves (teardowns are looked through, as in Airflow) --------------
    def get_roots(self):
        tasks = list(self)
        ids = {t.task_id for t in tasks}
        return [t for t in tasks if t.upstream_task_ids.isdisjoint(ids)]

    def get_leaves(self):
        tasks = list(self)
        ids = {t.task_id for t in tasks}
        by_id = {t.task_id: t for t in tasks}

        def has_work_downstream(task, exclude: str) -> bool:
            return any(d in ids and d != exclude and not by_id[d].is_teardown for d in task.downstream_task_ids)

        def first_non_teardowns(task):
            for up_id in sorted(task.upstream_task_ids):
                up = by_id.get(up_id)
                if up is None:
                    continue
                if up.is_teardown:
                    yield from first_non_teardowns(up)
                elif task.is_teardown and up.is_setup:
                    continue  # not through the setup -> teardown edge
                elif not has_work_downstream(up, exclude=task.task_id):
                    yield up

        out = []
        for task in tasks:
            if task.downstream_task_ids.isdisjoint(ids):
                for leaf in ([task] if not task.is_teardown else first_non_teardowns(task)):
                    if all(leaf is not o for o in out):
                        out.append(leaf)
        return out

    @property
    def roots(self) -> list:
        return self.get_roots()

    @property
    def leaves(self) -> list:
        return self.get_leaves()

    # -- relationships ------------------------------------------------------------
    def _leaves_or_fallback(self) -> list:
        # An empty group passes its own upstream on (Airflow's behaviour).
        group: TaskGroup | None = self
        while group is not None:
            leaves = group.get_leaves()
            if leaves:
                return leaves
            if group.upstream_task_ids:
                return [self.dag.get_task(t) for t in sorted(group.upstream_task_ids)]
            group = group.parent_group
        return []

    def _note_relative(self, other, upstream: bool, edge_modifier=None) -> None:
        # Labels on edges to a group sit on its join node too, as Airflow's graph draws them.
        label = (lambda up, down: edge_modifier.add_edge_info(self.dag, up, down)) if edge_modifier else None
        if isinstance(other, TaskGroup):
            if upstream:
                self.upstream_group_ids.add(other.group_id)
                other.downstream_group_ids.add(self.group_id)
                if label:
                    label(other.downstream_join_id, self.upstream_join_id)
            else:
                self.downstream_group_ids.add(other.group_id)
                other.upstream_group_ids.add(self.group_id)
                if label:
                    label(self.downstream_join_id, other.upstream_join_id)
            return
        for task in getattr(other, "roots", []):
            if upstream:
                self.upstream_task_ids.add(task.task_id)
                if label:
                    label(task.task_id, self.upstream_join_id)
            else:
                self.downstream_task_ids.add(task.task_id)
                if label:
                    label(self.downstream_join_id, task.task_id)

    def _set_relatives(self, others, upstream: bool, edge_modifier=None) -> None:
        items = list(others) if isinstance(others, (list, tuple, set)) else [others]
        leaves = self._leaves_or_fallback()
        for item in items:
            self._note_relative(item, upstream, edge_modifier)
        if upstream:
            for task in self.get_roots():
                task._set_relatives(items, upstream=True, edge_modifier=edge_modifier)
        else:
            for task in leaves:
                task._set_relatives(items, upstream=False, edge_modifier=edge_modifier)

    def set_upstream(self, other, edge_modifier=None) -> None:
        self._set_relatives(other, upstream=True, edge_modifier=edge_modifier)

    def set_downstream(self, other, edge_modifier=None) -> None:
        self._set_relatives(other, upstream=False, edge_modifier=edge_modifier)

    # -- context manager ------------------------------------------------------
    def __enter__(self) -> "TaskGroup":
        _stack.append(self)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        _stack.pop()


class MappedTaskGroup(TaskGroup):
    """A group whose body runs once per map index of `expand_input`."""

    def __init__(self, *args, expand_input=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.expand_input = expand_input

    @property
    def is_mapped(self) -> bool:
        return True

    def __iter__(self):
        for child in self.children.values():
            if getattr(child, "trigger_rule", None) == "always" and getattr(child, "is_mapped", False):
                raise ValueError("Task-generated mapping within a mapped task group is not allowed with trigger rule 'always'")
            if isinstance(child, TaskGroup):
                yield from child
            else:
                yield child

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None and self.expand_input is not None:
            for op in self.expand_input.upstream_operators():
                self.set_upstream(op)
        super().__exit__(exc_type, exc, tb)


class MappedArgument:
    """Stands for one argument of a mapped task group inside its body.

    Resolved per map index when a task of the group runs (`expand_for`).
    """

    def __init__(self, expand_input, key: str):
        self.expand_input = expand_input
        self.key = key

    def __repr__(self) -> str:
        return f"MappedArgument({self.key!r})"

    def upstream_operators(self) -> list:
        return self.expand_input.upstream_operators()


class TaskGroupFactory:
    """What `@task_group` returns: call it to build the group, `.expand()` to map it."""

    def __init__(self, function, group_kwargs: dict):
        self.function = function
        self.group_kwargs = group_kwargs
        functools.update_wrapper(self, function)

    def override(self, **kwargs) -> "TaskGroupFactory":
        return TaskGroupFactory(self.function, {**self.group_kwargs, **kwargs})

    def _group_args(self) -> dict:
        kwargs = dict(self.group_kwargs)
        kwargs.setdefault("group_id", self.function.__name__)
        if self.function.__doc__ and not kwargs.get("tooltip"):
            kwargs["tooltip"] = inspect.cleandoc(self.function.__doc__)
        kwargs.setdefault("add_suffix_on_collision", True)
        return kwargs

    def __call__(self, *args, **kwargs):
        group = TaskGroup(**self._group_args())
        with group:
            result = self.function(*args, **kwargs)
        return _return_of(group, result)

    def partial(self, **kwargs) -> "TaskGroupFactory":
        return _PartialTaskGroup(self, kwargs)

    def expand(self, **mapped):
        return _PartialTaskGroup(self, {}).expand(**mapped)

    def expand_kwargs(self, kwargs_list):
        return _PartialTaskGroup(self, {}).expand_kwargs(kwargs_list)


class _PartialTaskGroup:
    def __init__(self, factory: TaskGroupFactory, partial: dict):
        self.factory = factory
        self.partial_kwargs = partial

    def expand(self, **mapped):
        from leoflow.sdk.mapping import DictOfListsInput

        if not mapped:
            raise TypeError("no arguments to expand against")
        return self._build(DictOfListsInput(mapped), list(mapped))

    def expand_kwargs(self, kwargs_list):
        from leoflow.sdk.mapping import ListOfDictsInput

        params = [p for p in inspect.signature(self.factory.function).parameters if p not in self.partial_kwargs]
        return self._build(ListOfDictsInput(kwargs_list), params)

    def _build(self, expand_input, names: list[str]):
        group = MappedTaskGroup(**self.factory._group_args(), expand_input=expand_input)
        call_kwargs = dict(self.partial_kwargs)
        for name in names:
            call_kwargs[name] = MappedArgument(expand_input, name)
        with group:
            result = self.factory.function(**call_kwargs)
        return _return_of(group, result)


def _return_of(group: TaskGroup, result):
    # As in Airflow: a group function that returns something (a task, an
    # XComArg) hands it back so `fn() >> x` binds to it; else the group.
    return group if result is None else result


def task_group(python_callable=None, **tg_kwargs):
    """`@task_group` / `@task_group(group_id=..., ...)`."""
    if callable(python_callable) and not tg_kwargs:
        return TaskGroupFactory(python_callable, {})
    if python_callable is not None and not callable(python_callable):
        tg_kwargs["group_id"] = python_callable
    return lambda f: TaskGroupFactory(f, tg_kwargs)

