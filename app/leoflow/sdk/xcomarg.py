"""XComArg: a reference to another task's output, resolved at run time.

Passing one to a task makes that task downstream of the producer; when the
consumer runs, the reference is replaced by the producer's XCom value.
`.map(f)`, `.zip(...)` and `.concat(...)` derive new references (lazy lists)
that dynamic task mapping can expand over.
"""

from __future__ import annotations

from typing import Any, Callable

from leoflow.sdk.dependencies import DependencyMixin

RETURN_KEY = "return_value"

# fetch(task_id, key) -> the XCom value (for a mapped producer: all its values in map-index order)
Fetch = Callable[[str, str], Any]
_NO_FILL = object()


class XComArg(DependencyMixin):
    """The plain reference: `task.output`, `op.output["key"]`, a `@task` call's result."""

    def __init__(self, operator, key: str = RETURN_KEY):
        self.operator = operator
        self.key = key

    def __repr__(self) -> str:
        return f"XComArg(<Task({type(self.operator).__name__}): {self.operator.task_id}>, {self.key!r})"

    def __eq__(self, other) -> bool:
        return (type(other) is type(self) and other.operator is self.operator and other.key == self.key)

    def __hash__(self) -> int:
        return hash((id(self.operator), self.key))

    def __getitem__(self, key: str) -> "XComArg":
        return XComArg(self.operator, key)

    def __iter__(self):
        raise TypeError("'XComArg' object is not iterable")

    def __bool__(self) -> bool:
        return True

    # -- the graph ------------------------------------------------------------
    def upstream_operators(self) -> list:
        return [self.operator]

    def set_upstream(self, other, edge_modifier=None) -> None:
        for op in self.upstream_operators():
            op.set_upstream(other, edge_modifier=edge_modifier)

    def set_downstream(self, other, edge_modifier=None) -> None:
        for op in self.upstream_operators():
            op.set_downstream(other, edge_modifier=edge_modifier)

    @property
    def roots(self) -> list:
        return self.upstream_operators()

    @property
    def leaves(self) -> list:
        return self.upstream_operators()

    # -- setup/teardown sugar (`with setup_task():` and `.as_setup()` on results) ------
    def as_setup(self):
        self.operator.as_setup()
        return self

    def as_teardown(self, *, setups=None, on_failure_fail_dagrun=None):
        self.operator.as_teardown(setups=setups, on_failure_fail_dagrun=on_failure_fail_dagrun)
        return self

    def __enter__(self):
        return self.operator.__enter__()

    def __exit__(self, exc_type, exc, tb):
        return self.operator.__exit__(exc_type, exc, tb)

    # -- derived references ---------------------------------------------------
    def map(self, f: Callable[[Any], Any]) -> "MapXComArg":
        if self.key != RETURN_KEY:
            raise ValueError("cannot map against non-return XCom")
        return MapXComArg(self, [f])

    def zip(self, *others: "XComArg", fillvalue: Any = _NO_FILL) -> "ZipXComArg":
        fill = fillvalue is not _NO_FILL
        return ZipXComArg([self, *others], fillvalue=fillvalue if fill else None, fill=fill)

    def concat(self, *others: "XComArg") -> "ConcatXComArg":
        return ConcatXComArg([self, *others])

    # -- the document and run time ------------------------------------------------
    def source_doc(self) -> dict:
        return {"type": "xcom", "task_id": self.operator.task_id, "key": self.key}

    def values(self, fetch: Fetch) -> Any:
        return fetch(self.operator.task_id, self.key)

    def length(self, fetch: Fetch) -> int:
        return len(self.values(fetch) or [])

    def item(self, fetch: Fetch, index: int) -> Any:
        """The value at one map index, computing only that one (a mapper may skip just its index)."""
        data = self.values(fetch)
        if isinstance(data, dict):
            return list(data.items())[index]
        return list(data)[index]

    def resolve(self, context) -> Any:
        from leoflow.sdk.params import NOTSET

        value = context["ti"].xcom_pull(task_ids=self.operator.task_id, key=self.key, default=NOTSET)
        if value is not NOTSET:
            return value
        if self.key == RETURN_KEY:
            return None  # the producer returned nothing
        from leoflow.sdk.exceptions import AirflowException

        raise AirflowException(
            f"XComArg result from {self.operator.task_id} at {self.operator.dag_id} "
            f"with key={self.key!r} is not found!"
        )


PlainXComArg = XComArg


class _Derived(XComArg):
    """Base of map/zip/concat: depends on every argument's producer."""

    args: list[XComArg]

    def __init__(self, args: list[XComArg]):
        self.args = list(args)
        self.key = RETURN_KEY
        self.operator = self.args[0].operator if self.args else None

    def __eq__(self, other) -> bool:
        return self is other

    def __hash__(self) -> int:
        return id(self)

    def __getitem__(self, key):
        raise TypeError(f"{type(self).__name__} does not support indexing by key")

    def upstream_operators(self) -> list:
        out: list = []
        for arg in self.args:
            for op in arg.upstream_operators():
                if all(op is not o for o in out):
                    out.append(op)
        return out

    def resolve(self, context) -> Any:
        return self.values(_context_fetch(context))


def _context_fetch(context) -> Fetch:
    from leoflow.sdk.params import NOTSET

    def fetch(task_id: str, key: str):
        # default=NOTSET: a mapped producer gives the list of its values, however many there are.
        value = context["ti"].xcom_pull(task_ids=task_id, key=key, default=NOTSET)
        return None if value is NOTSET else value

    return fetch


class MapXComArg(_Derived):
    def __init__(self, arg: XComArg, callables: list[Callable]):
        super().__init__([arg])
        self.callables = list(callables)

    def __repr__(self) -> str:
        return f"{self.args[0]!r}.map([{len(self.callables)} functions])"

    def map(self, f):
        return MapXComArg(self.args[0], [*self.callables, f])

    def source_doc(self) -> dict:
        return {"type": "map", "source": self.args[0].source_doc()}

    def values(self, fetch: Fetch) -> list:
        return [self._apply(item) for item in _items(self.args[0].values(fetch))]

    def length(self, fetch: Fetch) -> int:
        return self.args[0].length(fetch)

    def item(self, fetch: Fetch, index: int) -> Any:
        return self._apply(self.args[0].item(fetch, index))

    def _apply(self, item):
        for f in self.callables:
            item = f(item)
        return item


class ZipXComArg(_Derived):
    def __init__(self, args: list, *, fillvalue: Any = None, fill: bool = False):
        super().__init__(args)
        self.fillvalue = fillvalue
        self.fill = fill

    def __repr__(self) -> str:
        return f"zip({', '.join(repr(a) for a in self.args)})"

    def source_doc(self) -> dict:
        return {"type": "zip", "sources": [a.source_doc() for a in self.args], "fill": self.fill}

    def values(self, fetch: Fetch) -> list:
        return [self.item(fetch, i) for i in range(self.length(fetch))]

    def length(self, fetch: Fetch) -> int:
        lengths = [a.length(fetch) for a in self.args]
        return (max(lengths) if self.fill else min(lengths)) if lengths else 0

    def item(self, fetch: Fetch, index: int) -> tuple:
        return tuple(a.item(fetch, index) if index < a.length(fetch) else self.fillvalue for a in self.args)


class ConcatXComArg(_Derived):
    def __repr__(self) -> str:
        return f"concat({', '.join(repr(a) for a in self.args)})"

    def concat(self, *others):
        return ConcatXComArg([*self.args, *others])

    def source_doc(self) -> dict:
        return {"type": "concat", "sources": [a.source_doc() for a in self.args]}

    def values(self, fetch: Fetch) -> list:
        return [self.item(fetch, i) for i in range(self.length(fetch))]

    def length(self, fetch: Fetch) -> int:
        return sum(a.length(fetch) for a in self.args)

    def item(self, fetch: Fetch, index: int) -> Any:
        for a in self.args:
            n = a.length(fetch)
            if index < n:
                return a.item(fetch, index)
            index -= n
        raise IndexError("concat index out of range")


def _items(data) -> list:
    if isinstance(data, dict):
        return list(data.items())
    return list(data or [])


class ResolvedValue(XComArg):
    """A value already fetched for one map index; renders as itself, untemplated."""

    def __init__(self, value: Any):
        self.value = value
        self.operator = None
        self.key = RETURN_KEY

    def __repr__(self) -> str:
        return f"ResolvedValue({self.value!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, ResolvedValue) and other.value == self.value

    def __hash__(self) -> int:
        return id(self)

    def upstream_operators(self) -> list:
        return []

    def resolve(self, context) -> Any:
        return self.value


def find_xcomargs(value) -> list[XComArg]:
    """Every XComArg inside nested lists/tuples/sets/dicts (and mapped-group arguments)."""
    from leoflow.sdk.taskgroup import MappedArgument

    if isinstance(value, XComArg):
        return [value]
    if isinstance(value, MappedArgument):
        return value.expand_input.xcomargs()
    if isinstance(value, (list, tuple, set, frozenset)):
        return [x for item in value for x in find_xcomargs(item)]
    if isinstance(value, dict):
        return [x for item in value.values() for x in find_xcomargs(item)]
    return []
