"""Rows printed the ways Airflow's CLI prints them: `-o table|json|yaml|plain`.

As Airflow 3.2: JSON and YAML give every scalar as a string (`"slots": "5"`, `"is_paused": "True"`) and keep
objects and lists as they are; `table` and `plain` say "No data found" when there is nothing.
"""

from __future__ import annotations

import json

FORMATS = ("table", "json", "yaml", "plain")


def _normalized(value, fmt: str):
    """As Airflow's console: scalars become text, lists and objects are kept (a table joins a list by commas)."""
    if isinstance(value, (list, tuple)):
        if fmt == "table":
            return ",".join(str(_normalized(v, fmt)) for v in value)
        return [_normalized(v, fmt) for v in value]
    if isinstance(value, dict) and fmt != "table":
        return {str(k): _normalized(v, fmt) for k, v in value.items()}
    return None if value is None else str(value)


def _yaml_lines(value, indent: int) -> list[str]:
    pad = " " * indent
    if isinstance(value, dict) and value:
        lines = []
        for k in sorted(value):
            v = value[k]
            if isinstance(v, (dict, list)) and v:
                lines.append(f"{pad}{json.dumps(str(k))}:")
                lines.extend(_yaml_lines(v, indent + 2))
            else:
                lines.append(f"{pad}{json.dumps(str(k))}: {json.dumps(v, default=str)}")
        return lines
    if isinstance(value, list) and value:
        lines = []
        for v in value:
            inner = _yaml_lines(v, indent + 2)
            if isinstance(v, (dict, list)) and v:
                lines.append(f"{pad}- {inner[0].lstrip()}")
                lines.extend(inner[1:])
            else:
                lines.append(f"{pad}- {json.dumps(v, default=str)}")
        return lines
    return [f"{pad}{json.dumps(value, default=str)}"]


def print_rows(rows: list[dict], columns: list[str], fmt: str = "table") -> None:
    data = [{c: _normalized(r.get(c), fmt) for c in columns} for r in rows]
    if fmt == "json":
        print(json.dumps(data, default=str))
        return
    if fmt == "yaml":
        print("\n".join(_yaml_lines(data, 0)) if data else "[]")
        return
    if not rows:
        print("No data found")
        return
    cells = [["None" if v is None else (json.dumps(v) if isinstance(v, (dict, list)) else v)
              for v in (_normalized(r.get(c), "plain" if isinstance(r.get(c), dict) else fmt) for c in columns)]
             for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    if fmt == "plain":
        print("  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip())
        for row in cells:
            print("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())
        return
    print(" | ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip())
    print("=+=".join("=" * w for w in widths))
    for row in cells:
        print(" | ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())
