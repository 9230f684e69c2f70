"""The one table every benchmark's figures go into."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    benchmark: str
    metric: str
    value: float
    unit: str
    note: str = ""


def print_table(rows: list[Row]) -> None:
    header = ("benchmark", "metric", "value", "unit", "note")
    cells = [header] + [(r.benchmark, r.metric, _fmt(r.value), r.unit, r.note) for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for index, row in enumerate(cells):
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
        if index == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2f}"
