"""A region report as CSV, XLSX, a printable PDF and Parquet (the analysts' typed table)."""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path
from typing import Any

from cloud.reports.rollup import COLUMNS, RegionReport, Row, value

log = logging.getLogger(__name__)

# A CJK font for Chinese names in the PDF: the first that exists (Debian: fonts-wqy-microhei or
# fonts-noto-cjk). Without one the PDF uses English names and ids.
CJK_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)
LATIN_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def _headers(lang: str) -> list[str]:
    return [zh if lang == "zh-CN" else en for _, zh, en in COLUMNS]


def _cell(row: Row, key: str) -> Any:
    v = value(row, key)
    return round(v, 2) if isinstance(v, float) else v


def table(report: RegionReport) -> list[Row]:
    return [*report.children, report.total]


def to_csv(report: RegionReport, lang: str = "zh-CN") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["region", report.region["id"], "start", report.start.isoformat(), "end", report.end.isoformat()])
    writer.writerow(["key", "level", *_headers(lang)])
    for row in table(report):
        writer.writerow([row.key, row.level, *[_cell(row, k) for k, _, _ in COLUMNS]])
    return ("\ufeff" + out.getvalue()).encode()  # BOM: spreadsheet programs then read UTF-8 Chinese correctly


def to_xlsx(report: RegionReport, lang: str = "zh-CN") -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Report"
    ws.append(["Region", report.region["name"], report.region["id"]])
    ws.append(["Period", report.start.isoformat(), report.end.isoformat()])
    ws.append([])
    ws.append(["key", "level", *_headers(lang)])
    for cell in ws[4]:
        cell.font = Font(bold=True)
    for row in table(report):
        ws.append([row.key, row.level, *[_cell(row, k) for k, _, _ in COLUMNS]])
    daily = wb.create_sheet("Daily mortality")
    daily.append(["day", "mortality % of birds alive", "expected %"])
    for day, rate in report.daily:
        daily.append([day, None if rate is None else round(rate, 4), report.expected_pct_day])
    weekly = wb.create_sheet("Weekly mortality")
    weekly.append(["week", "mortality % per week", "expected % per week"])
    for week, rate in report.weekly:
        weekly.append([week, None if rate is None else round(rate, 4), round(7 * report.expected_pct_day, 4)])
    alerts = wb.create_sheet("Alerts")
    alerts.append(["type", "severity", "count"])
    for row_ in report.alerts_by_type:
        alerts.append(list(row_))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _font_path() -> str | None:
    return next((p for p in CJK_FONTS if Path(p).exists()), None)


def to_pdf(report: RegionReport, lang: str = "zh-CN") -> bytes:
    from fpdf import FPDF

    pdf = FPDF(orientation="L", unit="mm", format="A4")
    cjk = _font_path()
    if cjk:
        pdf.add_font("body", fname=cjk)
    elif Path(LATIN_FONT).exists():
        pdf.add_font("body", fname=LATIN_FONT)
        lang = "en"
    else:
        lang = "en"
    family = "body" if (cjk or Path(LATIN_FONT).exists()) else "helvetica"
    pdf.set_auto_page_break(True, margin=12)
    pdf.add_page()

    def name(r: dict[str, Any]) -> str:
        return str(r["name"] if lang == "zh-CN" else (r.get("name_en") or r["id"]))

    pdf.set_font(family, size=16)
    title = "区域报告" if lang == "zh-CN" else "Regional report"
    pdf.cell(0, 10, f"{title}: {name(report.region)}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, size=10)
    pdf.cell(0, 6, " › ".join(name(r) for r in report.path) + f"    {report.start} – {report.end}",
             new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    keys = [k for k, _, _ in COLUMNS]
    headers = _headers(lang)
    widths = [36] + [(277 - 36) / (len(keys) - 1)] * (len(keys) - 1)
    pdf.set_font(family, size=6.5)
    for w, h in zip(widths, headers, strict=True):
        pdf.multi_cell(w, 4, h, border=1, new_x="RIGHT", new_y="TOP", max_line_height=4)
    pdf.ln(8)
    pdf.set_font(family, size=7)
    for row in table(report):
        cells = [row.name if lang == "zh-CN" or row.level == "farm" else row.key]
        cells += [_fmt(_cell(row, k)) for k in keys[1:]]
        for w, c in zip(widths, cells, strict=True):
            pdf.cell(w, 6, str(c)[:28], border=1)
        pdf.ln(6)
    pdf.ln(4)
    pdf.set_font(family, size=9)
    caption = "告警（类型/级别）" if lang == "zh-CN" else "Alerts by type and severity"
    pdf.cell(0, 6, caption, new_x="LMARGIN", new_y="NEXT")
    for kind, severity, count in report.alerts_by_type[:20]:
        pdf.cell(0, 5, f"{kind} / {severity}: {count}", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.2f}" if abs(v) < 100 else f"{v:.0f}"
    return str(v)


def to_parquet(report: RegionReport, lang: str = "zh-CN") -> bytes:
    """The report table as cloud/reports/frames.py types it (`lang` has no effect: columns are keys)."""
    from cloud.reports.frames import parquet_bytes, report_frames

    return parquet_bytes(report_frames(report).table)
