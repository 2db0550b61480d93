"""The report's charts as SVG drawn on the server (no JavaScript, prints as drawn): the
12-month trend and the requests by age band. Counts from 1 to 4 are drawn as no bar and
labelled "<5", as everywhere on the printed report."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

from triage_service.report.models import TrendPoint
from triage_service.report.month import Month
from triage_service.report.present import shown

INK, BAR, LINE, GRID = "#000", "#5b7fa6", "#b3361b", "#bbb"
FONT = 'font-family="DejaVu Sans, sans-serif"'


def _text(x: float, y: float, text: str, *, size: int = 10, anchor: str = "middle") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" {FONT}'
        f' fill="{INK}">{escape(text)}</text>'
    )


def _bar_height(n: int, top: int, height: float) -> float:
    """A bar's height, none for a suppressed count (1 to 4)."""
    return 0.0 if 0 < n < 5 or not top else height * n / top


def trend_chart(points: Sequence[TrendPoint]) -> Markup:
    """Requests per month (bars, left scale) and the service level (line, 0-100 %)."""
    width, height, left, right, top, bottom = 640, 230, 44, 44, 16, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    most = max((p.requests for p in points), default=0)
    step = plot_w / max(len(points), 1)
    parts = [_frame(width, height, "Requests per month and service level")]
    parts.append(_grid(left, top, plot_w, plot_h))
    line = []
    for i, p in enumerate(points):
        x = left + i * step + step * 0.15
        h = _bar_height(p.requests, most, plot_h)
        parts.append(_rect(x, top + plot_h - h, step * 0.7, h))
        parts.append(_text(x + step * 0.35, top + plot_h - h - 3, shown(p.requests), size=9))
        month = Month(int(p.month[:4]), int(p.month[5:]))
        parts.append(_text(x + step * 0.35, top + plot_h + 14, month.label()[:3], size=9))
        if month.month == 1 or i == 0:
            parts.append(_text(x + step * 0.35, top + plot_h + 26, str(month.year), size=8))
        if p.service_level_pct is not None:
            line.append((x + step * 0.35, top + plot_h * (1 - p.service_level_pct / 100)))
    parts.append(_line(line))
    parts += [
        _text(left - 6, top + 8, str(most), size=8, anchor="end"),
        _text(left - 6, top + plot_h, "0", size=8, anchor="end"),
        _text(width - right + 6, top + 8, "100 %", size=8, anchor="start"),
        _text(width - right + 6, top + plot_h, "0 %", size=8, anchor="start"),
    ]
    return Markup("".join(parts) + "</svg>")


def _rect(x: float, y: float, w: float, h: float) -> str:
    return f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{BAR}"/>'


def _frame(width: int, height: int, title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}"'
        f' width="{width}" height="{height}" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>"
    )


def _grid(left: float, top: float, plot_w: float, plot_h: float) -> str:
    lines = [
        f'<line x1="{left}" y1="{top + plot_h * k / 4:.1f}" x2="{left + plot_w}"'
        f' y2="{top + plot_h * k / 4:.1f}" stroke="{GRID}" stroke-width="0.5"/>'
        for k in range(5)
    ]
    return "".join(lines)


def _line(points: list[tuple[float, float]]) -> str:
    if not points:
        return ""
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    dots = "".join(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{LINE}"/>' for x, y in points)
    return f'<polyline points="{path}" fill="none" stroke="{LINE}" stroke-width="2"/>{dots}'


def bars_chart(title: str, rows: Sequence[tuple[str, int]]) -> Markup:
    """Horizontal bars, one a row: label, bar, count (shown as "<5" from 1 to 4)."""
    row_h, label_w, width = 18, 150, 640
    height = row_h * len(rows) + 8
    most = max((n for _, n in rows), default=0)
    parts = [_frame(width, height, title)]
    for i, (label, n) in enumerate(rows):
        y = 4 + i * row_h
        w = _bar_height(n, most, width - label_w - 60)
        parts += [
            _text(label_w - 6, y + 12, label, size=10, anchor="end"),
            _rect(label_w, y + 2, w, row_h - 5),
            _text(label_w + w + 4, y + 12, shown(n), size=10, anchor="start"),
        ]
    return Markup("".join(parts) + "</svg>")
