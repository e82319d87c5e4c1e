"""Setup and teardown tasks: `@setup`, `@teardown`, `.as_setup()`, `with s >> t:`.

A teardown runs after the work between it and its setups even when that work
failed (trigger rule `all_done_setup_success`). Using a setup or teardown as a
context manager wires the tasks created inside the block between them, the way
Airflow 3.2 does:

    with teardown_task(setup_task()):
        work()            # setup_task >> work >> teardown_task
"""

from __future__ import annotations

from typing import Any


def _as_list(x) -> list:
    if isinstance(x, (list, tuple)):
        return list(x)
    return [x] if x else []


def _link(receiving, new, upstream: bool = True) -> None:
    for task in _as_list(new):
        if upstream:
            task.set_upstream(receiving)
        else:
            task.set_downstream(receiving)


def _key(x):
    return tuple(x) if isinstance(x, list) else x


class _Context:
    """The open `with` blocks of setup/teardown tasks (one per parsing process)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.active = False
        self.members: dict[Any, list] = {}  # setup/teardown (or tuple of them) -> work tasks created inside
        self.setup: Any = []  # the setup(s) of the innermost block
        self.teardown: Any = []
        self.teardown_of_setup: Any = []  # teardowns found downstream of that setup
        self.setup_of_teardown: Any = []  # setups found upstream of that teardown
        self.prev_setup: list = []
        self.prev_teardown: list = []
        self.prev_teardown_of_setup: list = []
        self.prev_setup_of_teardown: list = []

    # -- a task is created inside a block ------------------------------------
    def note_task(self, task) -> None:
        if task.is_setup or task.is_teardown:
            return
        for owner in (self.setup, self.teardown):
            if owner:
                self.members.setdefault(_key(owner), []).append(task)

    # -- entering a block -------------------------------------------------------
    def push(self, operator) -> None:
        ops = _as_list(operator)
        if any(op.is_setup != ops[0].is_setup for op in ops):
            self.reset()
            raise ValueError("All tasks in the list must be either setup or teardown tasks")
        first = ops[0]
        if first.is_setup:
            if self.setup and self.setup != operator:
                self.prev_setup.append(self.setup)
            self.setup = operator
            found = _nearest(first, first.downstream_list, lambda t: t.is_teardown)
            if self.teardown_of_setup and self.teardown_of_setup != found:
                self.prev_teardown_of_setup.append(self.teardown_of_setup)
            self.teardown_of_setup = found
        elif first.is_teardown:
            if self.teardown and self.teardown != operator:
                self.prev_teardown.append(self.teardown)
            self.teardown = operator
            found = _nearest(first, first.upstream_list, lambda t: t.is_setup)
            if self.setup_of_teardown and self.setup_of_teardown != found:
                self.prev_setup_of_teardown.append(self.setup_of_teardown)
            self.setup_of_teardown = found
        self.active = True

    # -- leaving a block: wire the work between setup and teardown ----------------
    def pop(self) -> None:
        if self.setup:
            work = [t for t in self.members.get(_key(self.setup), []) if not (t.is_setup or t.is_teardown)]
            if work:
                roots = [t for t in work if not t.upstream_task_ids]
                if roots:
                    _link(self.setup, roots, upstream=True)
                else:
                    _link(self.setup, work[0], upstream=True)
                leaves = [t for t in work if not t.downstream_task_ids] or work[-1]
                _link(self.teardown or leaves, self.teardown_of_setup, upstream=True)
        if self.teardown:
            work = [t for t in self.members.get(_key(self.teardown), []) if not (t.is_setup or t.is_teardown)]
            if work:
                leaves = [t for t in work if not t.downstream_task_ids]
                _link(leaves or work[-1], self.teardown, upstream=True)
                roots = [t for t in work if not t.upstream_task_ids] or work[0]
                _link(self.setup or roots, self.setup_of_teardown, upstream=False)
        self._unwind()
        self.active = False

    def _unwind(self) -> None:
        old_setup, old_teardown = self.setup, self.teardown
        # Nested blocks: outer setup >> inner setup, inner teardown >> outer teardown.
        if self.prev_setup:
            self.setup = self.prev_setup.pop()
            if self.setup and old_setup:
                _link(old_setup, self.setup, upstream=False)
        else:
            self.setup = []
        if self.prev_teardown:
            self.teardown = self.prev_teardown.pop()
            if self.teardown and old_teardown:
                _link(old_teardown, self.teardown, upstream=True)
        else:
            self.teardown = []
        old = self.teardown_of_setup
        if self.prev_teardown_of_setup:
            self.teardown_of_setup = self.prev_teardown_of_setup.pop()
            if self.teardown_of_setup and old:
                _link(old, self.teardown_of_setup, upstream=True)
        else:
            self.teardown_of_setup = []
        old = self.setup_of_teardown
        if self.prev_setup_of_teardown:
            self.setup_of_teardown = self.prev_setup_of_teardown.pop()
            if self.setup_of_teardown and old:
                _link(old, self.setup_of_teardown, upstream=False)
        else:
            self.setup_of_teardown = []
        self.members.pop(_key(old_setup), None)
        self.members.pop(_key(old_teardown), None)


def _nearest(start, tasks, wanted) -> list:
    # Breadth-first through relatives until a layer holds a wanted task.
    seen = {id(start)}
    layer = list(tasks)
    while layer:
        hits = [t for t in layer if wanted(t)]
        if hits:
            return hits
        nxt = []
        for t in layer:
            seen.add(id(t))
        for t in layer:
            for r in t.downstream_list + t.upstream_list:
                if id(r) not in seen:
                    nxt.append(r)
        layer = nxt
    return []


CONTEXT = _Context()


class ContextWrapper(list):
    """`with [s1, s2] >> t:` — a list of setup/teardown tasks as one context manager."""

    def __init__(self, tasks: list):
        super().__init__(tasks)
        self.tasks = tasks

    def __enter__(self):
        from leoflow.sdk.xcomarg import XComArg

        ops = [t.operator if isinstance(t, XComArg) else t for t in self.tasks]
        for op in ops:
            if not op.is_setup and not op.is_teardown:
                raise ValueError("Only setup/teardown tasks can be used as context managers.")
        CONTEXT.push(ops)
        return CONTEXT

    def __exit__(self, exc_type, exc, tb):
        CONTEXT.pop()


def setup(func):
    """`@setup`: the decorated function's task is a setup task."""
    from leoflow.sdk.decorators import TaskDecorator, task
    from leoflow.sdk.taskgroup import TaskGroupFactory

    if isinstance(func, TaskGroupFactory):
        raise ValueError("Task groups cannot be marked as setup or teardown.")
    deco = func if isinstance(func, TaskDecorator) else task(func)
    return deco.override(_is_setup=True)


def teardown(_func=None, *, on_failure_fail_dagrun: bool = False):
    """`@teardown` / `@teardown(on_failure_fail_dagrun=True)`."""
    from leoflow.sdk.decorators import TaskDecorator, task
    from leoflow.sdk.taskgroup import TaskGroupFactory

    def wrap(func):
        if isinstance(func, TaskGroupFactory):
            raise ValueError("Task groups cannot be marked as setup or teardown.")
        deco = func if isinstance(func, TaskDecorator) else task(func)
        return deco.override(_is_teardown=True, _on_failure_fail_dagrun=on_failure_fail_dagrun)

    return wrap if _func is None else wrap(_func)
