"""A DAG's tasks drawn from its serialized form: Graphviz DOT (`dags show`), layers as text (`dags show
--ascii`) and the downstream tree (`tasks list --tree`)."""

from __future__ import annotations

import json


def _tasks(data: dict) -> dict[str, dict]:
    return {t["task_id"]: t for t in data.get("tasks", [])}


def _quoted(text: str) -> str:
    return json.dumps(text)  # a DOT ID in double quotes: JSON's escaping is DOT's


def dot_graph(data: dict) -> str:
    tasks = _tasks(data)
    dag_id = data.get("dag_id", "dag")
    lines = [f"digraph {_quoted(dag_id)} {{",
             f"\tgraph [label={_quoted(dag_id)} labelloc=t rankdir=LR]"]
    for task_id in sorted(tasks):
        t = tasks[task_id]
        lines.append(f"\t{_quoted(task_id)} [color={_quoted(t.get('ui_fgcolor') or '#000')} "
                     f"fillcolor={_quoted(t.get('ui_color') or '#fff')} label={_quoted(task_id)} "
                     f"shape=rectangle style=\"filled,rounded\"]")
    for task_id in sorted(tasks):
        for down in sorted(tasks[task_id].get("downstream", [])):
            lines.append(f"\t{_quoted(task_id)} -> {_quoted(down)}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def layers(data: dict) -> list[list[str]]:
    """Tasks by the length of their longest path from a task without upstream (each layer sorted)."""
    tasks = _tasks(data)
    depth: dict[str, int] = {}

    def depth_of(task_id: str, seen: frozenset = frozenset()) -> int:
        if task_id not in depth:
            ups = [u for u in tasks[task_id].get("upstream", []) if u in tasks and u not in seen]
            depth[task_id] = 1 + max((depth_of(u, seen | {task_id}) for u in ups), default=-1)
        return depth[task_id]

    for task_id in tasks:
        depth_of(task_id)
    out: list[list[str]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for task_id in sorted(tasks):
        out[depth[task_id]].append(task_id)
    return out


def ascii_graph(data: dict) -> str:
    tasks = _tasks(data)
    lines = [data.get("dag_id", "dag")]
    width = max((len(t) for t in tasks), default=0) + 2
    for number, layer in enumerate(layers(data), 1):
        for task_id in layer:
            ups = sorted(tasks[task_id].get("upstream", []))
            lines.append((f"{number:>3}  {('[' + task_id + ']').ljust(width)}"
                          + (f"  <- {', '.join(ups)}" if ups else "")).rstrip())
    return "\n".join(lines) + "\n"


def tree(data: dict) -> str:
    """Each task without upstream, its downstream tasks indented below it (repeated where paths join)."""
    tasks = _tasks(data)
    lines: list[str] = []

    def walk(task_id: str, prefix: str, last: bool, top: bool, path: frozenset) -> None:
        t = tasks[task_id]
        label = f"<Task({t.get('task_type') or 'Task'}): {task_id}>"
        lines.append(label if top else f"{prefix}{'└── ' if last else '├── '}{label}")
        downs = sorted(d for d in t.get("downstream", []) if d in tasks and d not in path)
        inner = "" if top else prefix + ("    " if last else "│   ")
        for i, down in enumerate(downs):
            walk(down, inner, i == len(downs) - 1, False, path | {down})

    for root in sorted(t for t, v in tasks.items() if not v.get("upstream")):
        walk(root, "", True, True, frozenset({root}))
    return "\n".join(lines) + "\n"
