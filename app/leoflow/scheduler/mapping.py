"""How many task instances a mapped task expands into, from its EXPAND document.

Pure functions: `length_of(task_id)` is given by the caller and answers the
length of an upstream's XCom result (or None while it is not known yet).
See docs/serialized-dag.md ("Mapping: EXPAND and SOURCE").
"""

from __future__ import annotations

from typing import Callable

Lookup = Callable[[str, str], "int | None"]  # (task_id, key) -> length or None


def needs_expansion(task: dict) -> bool:
    """A mapped task, or any task inside a mapped task group: its TIs carry map indexes."""
    return bool(task.get("is_mapped") or task.get("mapped_group_id"))


def source_length(source: dict, length_of: Lookup) -> int | None:
    kind = source.get("type")
    if kind == "literal":
        return int(source.get("length") or 0)
    if kind == "xcom":
        return length_of(source["task_id"], source.get("key") or "return_value")
    if kind == "map":
        return source_length(source["source"], length_of)
    if kind in ("zip", "concat"):
        lengths = [source_length(s, length_of) for s in source.get("sources", [])]
        if any(n is None for n in lengths):
            return None  # one input is not ready: neither is the whole
        if kind == "concat":
            return sum(lengths)
        if not lengths:
            return 0
        return max(lengths) if source.get("fill") else min(lengths)
    raise ValueError(f"unknown mapping source type {kind!r}")


def expand_length(expand: dict | None, length_of: Lookup) -> int | None:
    """`expand(a=..., b=...)` is the cross product of its arguments; `expand_kwargs` has one."""
    if not expand:
        return None
    total = 1
    for source in (expand.get("args") or {}).values():
        n = source_length(source, length_of)
        if n is None:
            return None
        total *= n
    return total


def task_length(task: dict, groups: dict, length_of: Lookup) -> int | None:
    """The number of map indexes of `task`: its own expand, else its innermost mapped group's."""
    if task.get("is_mapped"):
        own = expand_length(task.get("expand"), length_of)
        group_id = task.get("mapped_group_id")
        if own is None or not group_id:
            return own
        outer = group_length(group_id, groups, length_of)
        return None if outer is None else own * outer
    group_id = task.get("mapped_group_id")
    if group_id:
        return group_length(group_id, groups, length_of)
    return None


def group_length(group_id: str, groups: dict, length_of: Lookup) -> int | None:
    group = groups.get(group_id) or {}
    return expand_length(group.get("expand"), length_of)


def xcom_sources(task: dict, groups: dict) -> set[str]:
    """Task ids whose XCom lengths decide `task`'s expansion."""
    found: set[str] = set()

    def walk(source: dict) -> None:
        if source.get("type") == "xcom":
            found.add(source["task_id"])
        for inner in ([source["source"]] if source.get("type") == "map" else source.get("sources", [])):
            walk(inner)

    expands = [task.get("expand")]
    if task.get("mapped_group_id"):
        expands.append((groups.get(task["mapped_group_id"]) or {}).get("expand"))
    for expand in expands:
        for source in ((expand or {}).get("args") or {}).values():
            walk(source)
    return found
