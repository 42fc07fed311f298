"""What every benchmark prints: Markdown tables (pasted as they are into docs/benchmarks.md) and percentiles."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Render a Markdown table under a ``###`` title, numbers right-aligned."""
    cells = [[str(c) for c in header]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = [f"### {title}", ""]
    for n, row in enumerate(cells):
        lines.append("| " + " | ".join(c.rjust(w) if n else c.ljust(w) for c, w in zip(row, widths, strict=True))
                     + " |")
        if n == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines) + "\n"


def pct(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) by nearest rank; NaN for no values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))] if ordered else float("nan")
