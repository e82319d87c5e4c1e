"""A DAG's task-group tree from its serialized document, in the order the UI draws it.

Airflow's grid and graph list each group's children topologically (its default
`[api] grid_view_sorting_order`); ties keep task-id order, which is how the
serialized document lists tasks. Groups come from `task_groups` and each task's
`task_group_id` (see docs/serialized-dag.md); documents without them are flat.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Node:
    id: str
    label: str
    task: dict | None = None  # None for a task group
    group: dict | None = None
    children: list["Node"] = field(default_factory=list)
    mapped_parent: bool = False

    @property
    def is_group(self) -> bool:
        return self.task is None

    @property
    def is_mapped(self) -> bool:
        if self.is_group:
            return bool(self.group.get("is_mapped"))
        return bool(self.task.get("is_mapped")) or self.mapped_parent

    def tasks(self):
        """Every task under this node (itself, for a task)."""
        if not self.is_group:
            yield self.task
        for child in self.children:
            yield from child.tasks()


def short_label(node_id: str, parent_id: str | None, prefixed: bool = True) -> str:
    """A task's id without its group prefix (`group.task` -> `task`), as the UI labels it."""
    if parent_id and prefixed and node_id.startswith(parent_id + "."):
        return node_id[len(parent_id) + 1:]
    return node_id


def build(data: dict) -> list[Node]:
    """The root's children, each group's children filled in, all topologically sorted."""
    groups = data.get("task_groups") or {}
    tasks = sorted(data.get("tasks") or [], key=lambda t: t["task_id"])
    group_nodes = {gid: Node(gid, g.get("group_display_name") or short_label(gid, g.get("parent_group_id")),
                             group=g) for gid, g in groups.items()}
    root: list[Node] = []
    for gid, node in sorted(group_nodes.items()):
        parent = node.group.get("parent_group_id")
        (group_nodes[parent].children if parent in group_nodes else root).append(node)
    for t in tasks:
        gid = t.get("task_group_id")
        parent = group_nodes.get(gid) if gid else None
        prefixed = parent.group.get("prefix_group_id", True) if parent else True
        display = t.get("task_display_name") or t["task_id"]
        label = display if display != t["task_id"] else short_label(t["task_id"], gid, prefixed)
        node = Node(t["task_id"], label, task=t)
        (parent.children if parent else root).append(node)
    _mark_mapped(root, False)
    return _sort(root)


def _mark_mapped(nodes: list[Node], inherited: bool) -> None:
    for n in nodes:
        n.mapped_parent = inherited
        if n.is_group:
            _mark_mapped(n.children, inherited or bool(n.group.get("is_mapped")))


def _sort(nodes: list[Node]) -> list[Node]:
    """Kahn's algorithm over siblings: a sibling first when it holds an upstream of another."""
    owner = {}
    for n in nodes:
        for t in n.tasks():
            owner[t["task_id"]] = n.id
    deps = {n.id: set() for n in nodes}
    for n in nodes:
        for t in n.tasks():
            for up in t.get("upstream") or []:
                if up in owner and owner[up] != n.id:
                    deps[n.id].add(owner[up])
    out: list[Node] = []
    done: set[str] = set()
    pending = list(nodes)
    while pending:
        ready = [n for n in pending if deps[n.id] <= done] or pending[:1]  # a cycle cannot stall the UI
        for n in ready:
            out.append(n)
            done.add(n.id)
        pending = [n for n in pending if n.id not in done]
    for n in out:
        if n.is_group:
            n.children = _sort(n.children)
    return out


def walk(nodes: list[Node]):
    for n in nodes:
        yield n
        yield from walk(n.children)
