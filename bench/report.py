"""Figures: samples → min/median/max, beside Airflow's and the target; JSON and a Markdown table."""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field

from .reference import SCENARIOS


@dataclass
class Figure:
    key: str
    target_label: str  # "source" or "binary"
    samples: list[float]
    note: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    def as_dict(self) -> dict:
        s = SCENARIOS[self.key]
        ratio = (s.airflow / self.median) if s.airflow and self.median else None
        return {**asdict(self), "title": s.title, "unit": s.unit, "min": min(self.samples),
                "median": self.median, "max": max(self.samples), "airflow": s.airflow,
                "airflow_note": s.airflow_note, "ratio_vs_airflow": ratio, "target": s.target,
                "higher_is_better": s.higher_is_better,
                "target_met": None if s.target is None else (self.median >= s.target if s.higher_is_better
                                                             else self.median <= s.target)}


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "MB":
        return f"{value:.0f} MB"
    if unit == "ms":
        return f"{value:.1f} ms"
    if unit == "x":
        return f"{value:.2f}×"
    if unit == "TI/s":
        return f"{value:.0f} TI/s"
    return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"


def markdown(figures: list[dict], header: str) -> str:
    lines = [header, "",
             "| scenario | build | Leoflow median (min – max, n) | Airflow 3.2.1 | Airflow ÷ Leoflow | target | met |",
             "|---|---|---|---|---|---|---|"]
    for f in figures:
        unit = f["unit"]
        spread = f"{fmt(f['median'], unit)} ({fmt(f['min'], unit)} – {fmt(f['max'], unit)}, {len(f['samples'])})"
        ratio = f"{f['ratio_vs_airflow']:.0f}×" if f["ratio_vs_airflow"] else "—"
        met = {True: "yes", False: "**no**", None: ""}[f["target_met"]]
        title = f["title"] + (f" — {f['note']}" if f["note"] else "")
        airflow = fmt(f["airflow"], unit) + (f" ({f['airflow_note']})" if f["airflow_note"] else "")
        lines.append(f"| {title} | {f['target_label']} | {spread} | {airflow} | {ratio} | "
                     f"{('≥ ' if f.get('higher_is_better') else '≤ ') + fmt(f['target'], unit) if f['target'] is not None else ''} | {met} |")
    return "\n".join(lines) + "\n"
