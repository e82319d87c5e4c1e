"""XComArg: a reference to another task's output, resolved at run time.

Passing one to a task makes that task downstream of the producer; when the
consumer runs, the reference is replaced by the producer's XCom value.
"""

from __future__ import annotations

from typing import Any

from leoflow.sdk.dependencies import DependencyMixin

RETURN_KEY = "return_value"


class XComArg(DependencyMixin):
    def __init__(self, operator, key: str = RETURN_KEY):
        self.operator = operator
        self.key = key

    def __repr__(self) -> str:
        return f"XComArg(<Task({type(self.operator).__name__}): {self.operator.task_id}>, {self.key!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, XComArg) and other.operator is self.operator and other.key == self.key

    def __hash__(self) -> int:
        return hash((id(self.operator), self.key))

    def __getitem__(self, key: str) -> "XComArg":
        return XComArg(self.operator, key)

    def __iter__(self):
        raise TypeError("'XComArg' object is not iterable")

    def __bool__(self) -> bool:
        return True

    def set_upstream(self, other) -> None:
        self.operator.set_upstream(other)

    def set_downstream(self, other) -> None:
        self.operator.set_downstream(other)

    @property
    def roots(self) -> list:
        return [self.operator]

    @property
    def leaves(self) -> list:
        return [self.operator]

    def map(self, f):
        raise NotImplementedError("Leoflow does not support XComArg.map (dynamic task mapping) yet")

    def zip(self, *others, **kwargs):
        raise NotImplementedError("Leoflow does not support XComArg.zip (dynamic task mapping) yet")

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


def find_xcomargs(value) -> list[XComArg]:
    """Every XComArg inside nested lists/tuples/sets/dicts."""
    if isinstance(value, XComArg):
        return [value]
    if isinstance(value, (list, tuple, set, frozenset)):
        return [x for item in value for x in find_xcomargs(item)]
    if isinstance(value, dict):
        return [x for item in value.values() for x in find_xcomargs(item)]
    return []

