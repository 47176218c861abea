"""Charts as inline SVG, drawn on the server: no script, no style attributes (the portal's CSP allows
neither inline scripts nor inline styles; presentation attributes are fine). Each chart has a <title> and
a text alternative for screen readers."""

from __future__ import annotations

from datetime import datetime
from html import escape

from markupsafe import Markup

W, H, PAD_L, PAD_B, PAD_T, PAD_R = 640, 200, 48, 28, 10, 12


def _num(x: float) -> str:
    return f"{x:.1f}"


def progress_chart(series: list[tuple[datetime, int]], total: int) -> Markup:
    """Objects labeled over time: a line from the job's start to now, against the job's size."""
    if not series:
        series = [(datetime.min, 0)]
    top = max(total, max(n for _, n in series), 1)
    t0, t1 = series[0][0], series[-1][0]
    span = max((t1 - t0).total_seconds(), 1.0)
    iw, ih = W - PAD_L - PAD_R, H - PAD_T - PAD_B

    def xy(at: datetime, n: int) -> str:
        return f"{_num(PAD_L + iw * (at - t0).total_seconds() / span)},{_num(PAD_T + ih * (1 - n / top))}"

    points = " ".join(xy(at, n) for at, n in series)
    area = f"{PAD_L},{PAD_T + ih} {points} {_num(PAD_L + iw)},{PAD_T + ih}"
    last = series[-1][1]
    grid = "".join(
        f'<line x1="{PAD_L}" x2="{W - PAD_R}" y1="{_num(PAD_T + ih * (1 - f))}" y2="{_num(PAD_T + ih * (1 - f))}" '
        f'class="grid"/><text x="{PAD_L - 6}" y="{_num(PAD_T + ih * (1 - f) + 4)}" text-anchor="end" '
        f'class="axis">{int(top * f):,}</text>' for f in (0, 0.5, 1))
    label = f"{last:,} of {total:,} objects labeled"
    return Markup(
        f'<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-labelledby="progress-title" '
        f'preserveAspectRatio="xMidYMid meet"><title id="progress-title">Progress over time: {escape(label)}</title>'
        f'{grid}<polygon points="{area}" class="area"/><polyline points="{points}" class="line" fill="none"/>'
        f'<text x="{PAD_L}" y="{H - 8}" class="axis">{escape(t0.strftime("%Y-%m-%d %H:%M"))} UTC</text>'
        f'<text x="{W - PAD_R}" y="{H - 8}" text-anchor="end" class="axis">now</text></svg>')


def bar_chart(items: list[tuple[str, int]]) -> Markup:
    """Horizontal bars, one per label, with the count at the end of each."""
    if not items:
        return Markup("")
    row_h, label_w, width = 26, 160, W
    top = max((n for _, n in items), default=0) or 1
    height = row_h * len(items) + 6
    bars = []
    for i, (name, n) in enumerate(items):
        y = 4 + i * row_h
        w = (width - label_w - 70) * n / top
        short = name if len(name) <= 22 else name[:21] + "…"
        bars.append(f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end" class="axis">{escape(short)}</text>'
                    f'<rect x="{label_w}" y="{y + 3}" width="{_num(max(w, 1))}" height="{row_h - 8}" class="bar" '
                    f'rx="3"/><text x="{_num(label_w + max(w, 1) + 6)}" y="{y + 16}" class="axis">{n:,}</text>')
    summary = ", ".join(f"{name}: {n:,}" for name, n in items)
    return Markup(f'<svg class="chart bars" viewBox="0 0 {width} {height}" role="img" aria-label="'
                  f'Label distribution: {escape(summary)}">{"".join(bars)}</svg>')
