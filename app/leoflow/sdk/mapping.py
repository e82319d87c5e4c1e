"""Dynamic task mapping: `Op.partial(...).expand(...)` and its inputs.

At parse time a mapped task is a `MappedOperator`: one node in the graph that
knows its operator class, its fixed (`partial`) arguments and what it expands
over. At run time `expand_for(map_index, pull)` builds the plain operator for
one map index (`pull(task_id, key, map_indexes)` fetches an upstream XCom).
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

from leoflow.sdk.baseoperator import BaseOperator, base_operator_arg_names
from leoflow.sdk.xcomarg import XComArg, find_xcomargs

Pull = Callable[[str, str, Any], Any]


def _fetcher(pull: Pull):
    return lambda task_id, key: pull(task_id, key, None)


def source_doc(value: Any) -> dict:
    """How one expanded argument gets its length (see docs/serialized-dag.md)."""
    if isinstance(value, XComArg):
        return value.source_doc()
    if isinstance(value, (list, tuple, dict, set, frozenset)):
        return {"type": "literal", "length": len(value)}
    raise ValueError(f"cannot map over {type(value).__name__}: expected a list, a dict or an XComArg")


def _length(value: Any, fetch) -> int:
    return value.length(fetch) if isinstance(value, XComArg) else len(value)


def _item(value: Any, fetch, index: int) -> Any:
    # Only this index's value is computed: a `.map()` function may skip just its own index.
    return value.item(fetch, index) if isinstance(value, XComArg) else _pick(value, index)


def _pick(value: Any, index: int) -> Any:
    if isinstance(value, dict):
        for i, item in enumerate(value.items()):
            if i == index:
                return item
        raise IndexError(f"index {index} is over mapped length")
    return list(value)[index] if isinstance(value, (set, frozenset)) else value[index]


def _resolve_nested(value: Any, fetch) -> Any:
    if isinstance(value, XComArg):
        return value.values(fetch)
    if isinstance(value, dict):
        return {k: _resolve_nested(v, fetch) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_resolve_nested(v, fetch) for v in value)
    return value


class DictOfListsInput:
    """`expand(a=[...], b=xcomarg)`: the cross product of every argument."""

    kind = "expand"

    def __init__(self, value: dict[str, Any]):
        for name, v in value.items():
            source_doc(v)  # validates the type now, at parse time
        self.value = dict(value)

    def xcomargs(self) -> list[XComArg]:
        return find_xcomargs(list(self.value.values()))

    def upstream_operators(self) -> list:
        out: list = []
        for arg in self.xcomargs():
            for op in arg.upstream_operators():
                if all(op is not o for o in out):
                    out.append(op)
        return out

    def to_doc(self) -> dict:
        return {"kind": self.kind, "args": {name: source_doc(v) for name, v in sorted(self.value.items())}}

    def resolve(self, map_index: int, fetch) -> dict[str, Any]:
        lengths = {name: _length(v, fetch) for name, v in self.value.items()}
        out: dict[str, Any] = {}
        index = map_index
        # The last argument varies fastest, as in Airflow.
        for name in reversed(list(self.value)):
            if lengths[name] < 1:
                raise RuntimeError(f"cannot expand field mapped to length {lengths[name]}")
            out[name] = _item(self.value[name], fetch, index % lengths[name])
            index //= lengths[name]
        return {name: out[name] for name in self.value}


class ListOfDictsInput:
    """`expand_kwargs([{...}, {...}])` or `expand_kwargs(xcomarg)`: one dict per map index."""

    kind = "expand_kwargs"

    def __init__(self, value: Any):
        if isinstance(value, (list, tuple)):
            for item in value:
                if not isinstance(item, (dict, XComArg)):
                    raise TypeError(f"expected XComArg or list[dict], not list[{type(item).__name__}]")
        elif not isinstance(value, XComArg):
            raise TypeError(f"expected XComArg or list[dict], not {type(value).__name__}")
        self.value = value

    def xcomargs(self) -> list[XComArg]:
        return find_xcomargs(self.value)

    upstream_operators = DictOfListsInput.upstream_operators

    def to_doc(self) -> dict:
        return {"kind": self.kind, "args": {"kwargs": source_doc(self.value)}}

    def resolve(self, map_index: int, fetch) -> dict[str, Any]:
        item = _item(self.value, fetch, map_index)
        if isinstance(item, XComArg):
            item = item.values(fetch)
        if not isinstance(item, dict):
            raise TypeError(f"expand_kwargs() expects dicts, got {type(item).__name__} at index {map_index}")
        return {str(k): _resolve_nested(v, fetch) for k, v in item.items()}


def build_detached(operator_class: type, **kwargs) -> BaseOperator:
    """An operator built outside every DAG/group/setup context (it joins no DAG)."""
    from leoflow.sdk import baseoperator, setup_teardown, taskgroup
    from leoflow.sdk import dag as dag_module

    saved = (list(dag_module._stack), list(taskgroup._stack), setup_teardown.CONTEXT.active, baseoperator.DETACHED[0])
    dag_module._stack.clear()
    taskgroup._stack.clear()
    setup_teardown.CONTEXT.active = False
    baseoperator.DETACHED[0] = True
    try:
        return operator_class(**kwargs)
    finally:
        dag_module._stack[:] = saved[0]
        taskgroup._stack[:] = saved[1]
        setup_teardown.CONTEXT.active = saved[2]
        baseoperator.DETACHED[0] = saved[3]


def skipped_index(model: BaseOperator, map_index: int, skip: BaseException) -> BaseOperator:
    """`model` standing for a map index that a `.map()` function skipped (it raised AirflowSkipException for
    this index's item). Running it ends that one instance skipped, before anything is rendered, as in
    Airflow; its callbacks and listeners run as for any skip."""
    import copy

    op = copy.copy(model)
    op.__dict__ = dict(model.__dict__)
    op.map_index = map_index
    op.__dict__["_skipped_by_map"] = skip
    op.__dict__["_rendered_fields"] = {}  # nothing was rendered
    return op


def attach_like(op: BaseOperator, model: BaseOperator) -> BaseOperator:
    """Give a detached operator the DAG place of `model` (same id, edges, group)."""
    op.__dict__["_dag"] = model.dag
    op.task_group = model.task_group
    op.upstream_task_ids = set(model.upstream_task_ids)
    op.downstream_task_ids = set(model.downstream_task_ids)
    op.is_setup = model.is_setup
    op.is_teardown = model.is_teardown
    op.on_failure_fail_dagrun = model.on_failure_fail_dagrun
    op.trigger_rule = model.trigger_rule
    op.start_date, op.end_date = model.start_date, model.end_date  # the DAG's, as the model got them
    return op


class MappedOperator(BaseOperator):
    """A task made with `partial().expand*()`: one node, many task instances."""

    is_mapped = True

    def __init__(self, *, operator_class: type, partial_kwargs: dict, expand_input,
                 mapped_into: str | None = None, **base_kwargs: Any) -> None:
        self.operator_class = operator_class
        self.partial_kwargs = dict(partial_kwargs)
        self.expand_input = expand_input
        self.mapped_into = mapped_into  # decorated tasks map into op_kwargs
        self._base_kwargs = dict(base_kwargs)
        self.template_fields = tuple(operator_class.template_fields)
        self.template_ext = tuple(operator_class.template_ext)
        self.ui_color = operator_class.ui_color
        self.ui_fgcolor = operator_class.ui_fgcolor
        # the class's links, shown for every map index (each expanded try resolves its own, as in Airflow)
        self.operator_extra_links = tuple(getattr(operator_class, "operator_extra_links", None) or ())
        self.custom_operator_name = getattr(operator_class, "custom_operator_name", None)
        self.inherits_from_empty_operator = getattr(operator_class, "inherits_from_empty_operator", False)
        super().__init__(**base_kwargs)
        if self.task_group is not None and any(True for _ in self.task_group.iter_mapped_task_groups()):
            raise NotImplementedError(
                f"Leoflow does not support a mapped task ({self.task_id}) inside a mapped task group yet"
            )
        dag = self.dag
        defaults = dict(dag.default_args) if dag is not None else {}
        if self.task_group is not None:
            defaults.update(self.task_group.default_args)
        defaults.update(base_kwargs.get("default_args") or {})
        self._default_args = defaults
        # A mapped sensor/deferrable operator keeps what the scheduler needs to know.
        for name in ("mode", "poke_interval", "timeout", "soft_fail", "exponential_backoff", "deferrable"):
            if name in self.partial_kwargs:
                setattr(self, name, self.partial_kwargs[name])

    def _after_init(self) -> None:
        for arg in self.expand_input.xcomargs() + find_xcomargs(list(self.partial_kwargs.values())):
            for op in arg.upstream_operators():
                if op is not self:
                    self.set_upstream(op)

    def __repr__(self) -> str:
        return f"<Mapped({self.operator_class.__name__}): {self.task_id}>"

    @property
    def task_type(self) -> str:
        return self.operator_class.__name__

    @property
    def operator_name(self) -> str:
        return self.custom_operator_name or self.operator_class.__name__

    @property
    def operator_module(self) -> str:
        return self.operator_class.__module__

    def expand_for(self, map_index: int, pull: Pull) -> BaseOperator:
        from leoflow.sdk.exceptions import AirflowSkipException

        try:
            values = self.expand_input.resolve(map_index, _fetcher(pull))
        except AirflowSkipException as skip:
            return skipped_index(self, map_index, skip)
        kwargs = dict(self.partial_kwargs)
        if self.mapped_into:
            kwargs[self.mapped_into] = {**(kwargs.get(self.mapped_into) or {}), **values}
        else:
            kwargs.update(values)
        base = {k: v for k, v in self._base_kwargs.items() if k not in ("dag", "task_group", "default_args")}
        base["task_id"] = self.task_id
        op = build_detached(self.operator_class, **base, **kwargs, default_args=self._default_args)
        op.map_index = map_index
        return attach_like(op, self)

    def get_mapped_ti_count_literal(self) -> int | None:
        """Number of map indexes when every source is a literal (else None)."""
        doc = self.expand_input.to_doc()
        total = 1
        for src in doc["args"].values():
            if src.get("type") != "literal":
                return None
            total *= src["length"]
        return total


class PartialOperator:
    """`Op.partial(**kwargs)`: waits for `.expand()` / `.expand_kwargs()`."""

    def __init__(self, operator_class: type, kwargs: dict, mapped_into: str | None = None):
        from leoflow.sdk.dag import current_dag

        if "task_id" not in kwargs:
            raise TypeError(f"{operator_class.__name__}.partial() missing required argument 'task_id'")
        self.operator_class = operator_class
        self.kwargs = dict(kwargs)
        self.mapped_into = mapped_into
        self.dag = kwargs.get("dag") or current_dag()
        self._expanded = False

    def _split(self) -> tuple[dict, dict]:
        names = base_operator_arg_names()
        base = {k: v for k, v in self.kwargs.items() if k in names}
        rest = {k: v for k, v in self.kwargs.items() if k not in names}
        if self.dag is not None:
            base.setdefault("dag", self.dag)
        return base, rest

    def _check_names(self, names) -> None:
        if self.mapped_into:
            return
        params: set[str] = set()
        for klass in self.operator_class.__mro__:
            init = klass.__dict__.get("__init__")
            if init is not None:
                params.update(p.name for p in inspect.signature(init).parameters.values()
                              if p.kind not in (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL))
        accepts_any = False  # BaseOperator rejects unknown keyword arguments
        for name in names:
            if name in self.kwargs:
                raise ValueError(f"{self.operator_class.__name__}: {name!r} is already set by partial()")
            if name in base_operator_arg_names() and name not in ("op_args", "op_kwargs"):
                raise NotImplementedError(f"Leoflow does not support mapping over the BaseOperator argument {name!r} yet")
            if name not in params and not accepts_any:
                raise TypeError(f"{self.operator_class.__name__}.expand() got an unexpected keyword argument {name!r}")

    def expand(self, **mapped: Any) -> MappedOperator:
        if not mapped:
            raise TypeError("no arguments to expand against")
        self._check_names(mapped)
        return self._build(DictOfListsInput(mapped))

    def expand_kwargs(self, kwargs: Any, *, strict: bool = True) -> MappedOperator:
        return self._build(ListOfDictsInput(kwargs))

    def _build(self, expand_input) -> MappedOperator:
        self._expanded = True
        base, rest = self._split()
        return MappedOperator(operator_class=self.operator_class, partial_kwargs=rest,
                              expand_input=expand_input, mapped_into=self.mapped_into, **base)
