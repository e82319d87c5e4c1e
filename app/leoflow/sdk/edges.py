"""`Label`: text on the edges it sits between (`a >> Label("no errors") >> b`)."""

from __future__ import annotations

from leoflow.sdk.dependencies import DependencyMixin


class EdgeModifier(DependencyMixin):
    """Remembers the nodes on each side; every edge made through it gets its label."""

    def __init__(self, label: str | None = None):
        self.label = label
        self._upstream: list = []
        self._downstream: list = []

    def __repr__(self) -> str:
        return f"Label({self.label!r})"

    @property
    def roots(self) -> list:
        return []

    @property
    def leaves(self) -> list:
        return []

    @staticmethod
    def _flat(other) -> list:
        if isinstance(other, (list, tuple, set)):
            return [x for item in other for x in EdgeModifier._flat(item)]
        return [other]

    def set_upstream(self, other, edge_modifier=None) -> None:
        nodes = self._flat(other)
        self._upstream.extend(nodes)
        for node in self._downstream:
            node.set_upstream(nodes, edge_modifier=self)

    def set_downstream(self, other, edge_modifier=None) -> None:
        nodes = self._flat(other)
        self._downstream.extend(nodes)
        for node in self._upstream:
            node.set_downstream(nodes, edge_modifier=self)

    def add_edge_info(self, dag, upstream_id: str, downstream_id: str) -> None:
        dag.set_edge_info(upstream_id, downstream_id, {"label": self.label})


def Label(label: str) -> EdgeModifier:  # noqa: N802 - Airflow's public name
    """An edge modifier whose only job is a label."""
    return EdgeModifier(label)


def split_labels(others) -> tuple[list, list]:
    """(edge modifiers, everything else) from an argument of `>>`/`set_downstream`."""
    items = EdgeModifier._flat(others)
    labels = [x for x in items if isinstance(x, EdgeModifier)]
    rest = [x for x in items if not isinstance(x, EdgeModifier)]
    return labels, rest
