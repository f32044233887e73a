"""Inline SVG charts rendered on the server: no chart library, nothing to download."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape


@dataclass(frozen=True)
class Series:
    name: str
    points: Sequence[tuple[float, float | None]]  # (x, y); None breaks the line
    colour: str
    dashed: bool = False


@dataclass(frozen=True)
class Band:
    low: float
    high: float
    colour: str


def line_chart(series: Sequence[Series], *, title: str, width: int = 340, height: int = 180,
               x_labels: Sequence[tuple[float, str]] = (), bands: Sequence[Band] = (),
               y_unit: str = "") -> str:
    """An accessible line chart: role=img, a <title>, the values in a <desc> for screen readers."""
    xs = [x for s in series for x, y in s.points if y is not None]
    ys = [y for s in series for _, y in s.points if y is not None]
    ys += [v for b in bands for v in (b.low, b.high)]
    left, right, top, bottom = 42, 8, 10, 24
    desc = "; ".join(f"{s.name}: " + ", ".join(f"{y:.4g}" for _, y in s.points if y is not None)[:400]
                     for s in series)
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="{escape(title)}" class="chart"><title>{escape(title)}</title><desc>{escape(desc)}</desc>')
    if not xs:
        return head + f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" fill="#444">–</text></svg>'
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    if x1 == x0:
        x1 = x0 + 1
    pad = (y1 - y0) * 0.08 or abs(y1) * 0.1 or 1.0
    y0, y1 = y0 - pad, y1 + pad

    def sx(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * (width - left - right)

    def sy(y: float) -> float:
        return top + (1 - (y - y0) / (y1 - y0)) * (height - top - bottom)

    parts = [head]
    for b in bands:
        parts.append(f'<rect x="{left}" y="{sy(b.high):.1f}" width="{width - left - right}" '
                     f'height="{max(0.0, sy(b.low) - sy(b.high)):.1f}" fill="{b.colour}" opacity="0.25"/>')
    for i in range(5):
        v = y0 + (y1 - y0) * i / 4
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{sy(v):.1f}" y2="{sy(v):.1f}" stroke="#ddd"/>'
                     f'<text x="{left - 4}" y="{sy(v) + 4:.1f}" text-anchor="end" font-size="11" fill="#333">'
                     f'{_fmt(v)}{escape(y_unit)}</text>')
    for x, label in x_labels:
        parts.append(f'<text x="{sx(x):.1f}" y="{height - 6}" text-anchor="middle" font-size="11" fill="#333">'
                     f'{escape(label)}</text>')
    for s in series:
        for run in _runs(s.points):
            path = " ".join(f"{'M' if i == 0 else 'L'}{sx(x):.1f},{sy(y):.1f}" for i, (x, y) in enumerate(run))
            dash = ' stroke-dasharray="5 4"' if s.dashed else ""
            parts.append(f'<path d="{path}" fill="none" stroke="{s.colour}" stroke-width="2.5"{dash}/>')
            if len(run) == 1:
                parts.append(f'<circle cx="{sx(run[0][0]):.1f}" cy="{sy(run[0][1]):.1f}" r="3" fill="{s.colour}"/>')
    parts.append("</svg>")
    return "".join(parts)


def _runs(points: Sequence[tuple[float, float | None]]) -> list[list[tuple[float, float]]]:
    runs: list[list[tuple[float, float]]] = [[]]
    for x, y in points:
        if y is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append((x, y))
    return [r for r in runs if r]


def _fmt(v: float) -> str:
    return f"{v:.0f}" if abs(v) >= 10 else f"{v:.2g}"
