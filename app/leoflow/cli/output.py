"""Rows printed the ways Airflow's CLI prints them: `-o table|json|yaml|plain`."""

from __future__ import annotations

import json

FORMATS = ("table", "json", "yaml", "plain")


def print_rows(rows: list[dict], columns: list[str], fmt: str = "table") -> None:
    if fmt == "json":
        print(json.dumps([{c: r.get(c) for c in columns} for r in rows], indent=2, default=str))
        return
    if fmt == "yaml":
        for r in rows:
            for i, c in enumerate(columns):
                print(f"{'- ' if i == 0 else '  '}{c}: {json.dumps(r.get(c), default=str)}")
        if not rows:
            print("[]")
        return
    cells = [[("" if r.get(c) is None else str(r.get(c))) for c in columns] for r in rows]
    if fmt == "plain":
        for row in cells:
            print("\t".join(row))
        return
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    print(" | ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip())
    print("=+=".join("=" * w for w in widths))
    for row in cells:
        print(" | ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())
