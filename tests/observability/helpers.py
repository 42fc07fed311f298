"""Reading Prometheus' text exposition in tests."""

from __future__ import annotations

import re


def samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    """Every sample of series ``name`` as (labels, value)."""
    out: list[tuple[dict[str, str], float]] = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r"([A-Za-z_:][\w:]*)(?:\{(.*)\})? (\S+)(?: \d+)?", line)
        assert m, f"malformed line: {line!r}"
        if m.group(1) == name:
            labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
            out.append((labels, float(m.group(3))))
    return out


def value(text: str, name: str, **labels: str) -> float | None:
    for got, v in samples(text, name):
        if got == labels:
            return v
    return None
