"""A region report as CSV, XLSX and a printable PDF."""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path
from typing import Any

from cloud.reports.rollup import COLUMNS, RegionReport, Row, value
from cloud.words import word

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


# The exports' own labels; stored identifiers (levels, alert types, severities) go through `word`.
LABELS = {
    "region": ("区域", "Region"), "period": ("时间段", "Period"), "start": ("开始", "start"),
    "end": ("结束", "end"), "key": ("编号", "key"), "level": ("级别", "level"), "report": ("报告", "Report"),
    "daily": ("每日死亡率", "Daily mortality"), "weekly": ("每周死亡率", "Weekly mortality"),
    "alerts": ("告警", "Alerts"), "day": ("日期", "day"), "week": ("周", "week"),
    "day_pct": ("死亡率 %（占存栏）", "mortality % of birds alive"), "expected": ("预期 %", "expected %"),
    "week_pct": ("周死亡率 %", "mortality % per week"), "week_expected": ("预期周死亡率 %", "expected % per week"),
    "type": ("类型", "type"), "severity": ("级别", "severity"), "count": ("次数", "count"),
}


def _label(key: str, lang: str) -> str:
    return LABELS[key][0 if lang == "zh-CN" else 1]


def _cell(row: Row, key: str) -> Any:
    v = value(row, key)
    return round(v, 2) if isinstance(v, float) else v


def table(report: RegionReport) -> list[Row]:
    return [*report.children, report.total]


def to_csv(report: RegionReport, lang: str = "zh-CN") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_label("region", lang), report.region["id"], _label("start", lang), report.start.isoformat(),
                     _label("end", lang), report.end.isoformat()])
    writer.writerow([_label("key", lang), _label("level", lang), *_headers(lang)])
    for row in table(report):
        writer.writerow([row.key, word(row.level, lang), *[_cell(row, k) for k, _, _ in COLUMNS]])
    return ("\ufeff" + out.getvalue()).encode()  # BOM: spreadsheet programs then read UTF-8 Chinese correctly


def to_xlsx(report: RegionReport, lang: str = "zh-CN") -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = _label("report", lang)
    ws.append([_label("region", lang), report.region["name"], report.region["id"]])
    ws.append([_label("period", lang), report.start.isoformat(), report.end.isoformat()])
    ws.append([])
    ws.append([_label("key", lang), _label("level", lang), *_headers(lang)])
    for cell in ws[4]:
        cell.font = Font(bold=True)
    for row in table(report):
        ws.append([row.key, word(row.level, lang), *[_cell(row, k) for k, _, _ in COLUMNS]])
    daily = wb.create_sheet(_label("daily", lang))
    daily.append([_label("day", lang), _label("day_pct", lang), _label("expected", lang)])
    for day, rate in report.daily:
        daily.append([day, None if rate is None else round(rate, 4), report.expected_pct_day])
    weekly = wb.create_sheet(_label("weekly", lang))
    weekly.append([_label("week", lang), _label("week_pct", lang), _label("week_expected", lang)])
    for week, rate in report.weekly:
        weekly.append([week, None if rate is None else round(rate, 4), round(7 * report.expected_pct_day, 4)])
    alerts = wb.create_sheet(_label("alerts", lang))
    alerts.append([_label("type", lang), _label("severity", lang), _label("count", lang)])
    for kind, severity, count in report.alerts_by_type:
        alerts.append([word(kind, lang), word(severity, lang), count])
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
        pdf.cell(0, 5, f"{word(kind, lang)} / {word(severity, lang)}: {count}", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.2f}" if abs(v) < 100 else f"{v:.0f}"
    return str(v)
