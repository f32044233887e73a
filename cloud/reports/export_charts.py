"""The report's daily mortality against expected, drawn into the XLSX and the PDF exports.

The page shows this chart as SVG (cloud/web/charts.py); the exports carry the same series: an
Excel line chart over the workbook's own daily sheet (it stays live if the user edits), and
vector lines in the PDF (no image library, no font needed beyond the page's).
"""

from __future__ import annotations

from typing import Any

from cloud.reports.rollup import RegionReport

# Plain characters only: without a CJK font the PDF falls back to a Latin-1 font (export.py).
TITLE = {"zh-CN": ("每日死亡率 %（实际 / 预期）", "实际（实线）", "预期（虚线）"),
         "en": ("Daily mortality % (observed / expected)", "observed (solid)", "expected (dashed)")}


def add_xlsx_chart(sheet: Any, rows: int, lang: str) -> None:
    """A line chart of columns B (observed) and C (expected) over `rows` days below the header."""
    if rows < 2:
        return
    from openpyxl.chart import LineChart, Reference

    chart = LineChart()
    chart.title = TITLE[_lang(lang)][0]
    chart.y_axis.title = "%"
    chart.height, chart.width = 8, 18
    data = Reference(sheet, min_col=2, max_col=3, min_row=1, max_row=rows + 1)
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(Reference(sheet, min_col=1, min_row=2, max_row=rows + 1))
    sheet.add_chart(chart, "E2")


def draw_pdf_chart(pdf: Any, report: RegionReport, lang: str, x: float, y: float, w: float, h: float) -> None:
    """Observed daily mortality (solid) and the expected level (dashed) in a w×h mm box."""
    points = [(i, rate) for i, (_, rate) in enumerate(report.daily) if rate is not None]
    title, observed, expected = TITLE[_lang(lang)]
    pdf.set_xy(x, y)
    pdf.cell(w, 5, title)
    top, bottom, left, right = y + 7, y + h - 6, x + 12, x + w
    pdf.set_draw_color(120, 120, 120)
    pdf.rect(left, top, right - left, bottom - top)
    if len(points) < 2:
        return
    high = max(max(r for _, r in points), report.expected_pct_day) * 1.15 or 1.0
    days = len(report.daily) - 1 or 1

    def at(i: float, rate: float) -> tuple[float, float]:
        return left + (right - left) * i / days, bottom - (bottom - top) * rate / high

    pdf.set_font_size(6)
    for frac in (0.0, 0.5, 1.0):
        pdf.set_xy(x, bottom - (bottom - top) * frac - 2)
        pdf.cell(11, 4, f"{high * frac:.2f}", align="R")
    pdf.set_xy(left, bottom + 1)
    pdf.cell(40, 4, str(report.daily[0][0]))
    pdf.set_xy(right - 40, bottom + 1)
    pdf.cell(40, 4, str(report.daily[-1][0]), align="R")
    pdf.set_draw_color(31, 95, 191)
    pdf.set_line_width(0.5)
    for (i0, r0), (i1, r1) in zip(points, points[1:], strict=False):
        pdf.line(*at(i0, r0), *at(i1, r1))
    pdf.set_draw_color(179, 71, 0)
    pdf.set_dash_pattern(dash=1.5, gap=1.5)
    pdf.line(*at(0, report.expected_pct_day), *at(days, report.expected_pct_day))
    pdf.set_dash_pattern()
    pdf.set_line_width(0.2)
    pdf.set_xy(right - 60, top + 1)
    pdf.set_text_color(31, 95, 191)
    pdf.cell(28, 4, observed)
    pdf.set_text_color(179, 71, 0)
    pdf.cell(28, 4, expected)
    pdf.set_text_color(0, 0, 0)


def _lang(lang: str) -> str:
    return "zh-CN" if lang == "zh-CN" else "en"
