"""A region report as CSV, XLSX, a printable PDF and Parquet (the analysts' typed table)."""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cloud.reports.export_charts import add_xlsx_chart, draw_pdf_chart
from cloud.reports.rollup import COLUMNS, RegionReport, Row, value
from cloud.words import word

log = logging.getLogger(__name__)

# Fonts for the PDF, the first that exists: a configured one (FUHUIYANG_PDF_FONT), then the CJK
# fonts Debian packages (the image installs fonts-wqy-microhei), then DejaVu (Latin, no Chinese),
# then the PDF's built-in Helvetica (Latin-1 only). Without a CJK font the PDF still renders: text
# the font cannot show gives way to English names or ids, and a note on the page says why.
CJK_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)
LATIN_FONTS = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",)
NO_CJK_NOTE = ("Chinese names are shown in English or as ids: the server has no Chinese font "
               "(install fonts-wqy-microhei or set FUHUIYANG_PDF_FONT).")


class PdfUnavailable(Exception):
    """The PDF cannot be made on this server (the reason is the message); other formats can."""


@dataclass(frozen=True)
class PdfFont:
    path: str | None  # None: the PDF's built-in Helvetica
    cjk: bool

    def shows(self, text: str) -> bool:
        if self.cjk:
            return True
        if self.path is None:
            try:
                text.encode("latin-1")
            except UnicodeEncodeError:
                return False
            return True
        return all(ord(c) < 0x2E80 for c in text)  # DejaVu: Latin, Greek, Cyrillic, symbols; no CJK


def find_pdf_font(configured: Path | None = None) -> PdfFont:
    """The configured font if it exists, else the first known CJK font, else a Latin one."""
    if configured is not None and configured.exists():
        return PdfFont(str(configured), cjk=True)
    if configured is not None:
        log.warning("FUHUIYANG_PDF_FONT %s does not exist; looking for a system font", configured)
    cjk = next((p for p in CJK_FONTS if Path(p).exists()), None)
    if cjk is not None:
        return PdfFont(cjk, cjk=True)
    return PdfFont(next((p for p in LATIN_FONTS if Path(p).exists()), None), cjk=False)


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
    add_xlsx_chart(daily, len(report.daily), lang)
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


def to_pdf(report: RegionReport, lang: str = "zh-CN", font_path: Path | None = None) -> bytes:
    """A printable A4 page. Never fails on the text: without a CJK font, Chinese gives way to
    English names or ids with a note; a font that will not load raises PdfUnavailable."""
    from fpdf import FPDF
    from fpdf.errors import FPDFException

    font = find_pdf_font(font_path)
    if not font.cjk:
        lang = "en"
    pdf = FPDF(orientation="L", unit="mm", format="A4")
    family = "helvetica"
    if font.path is not None:
        try:
            pdf.add_font("body", fname=font.path)
        except Exception as exc:  # a broken or unreadable font file: fontTools raises many types
            raise PdfUnavailable(f"the PDF font {font.path} cannot be loaded ({exc})") from None
        family = "body"

    def text(preferred: str, fallback: str) -> str:
        return preferred if font.shows(preferred) else _latin(fallback, font)

    def name(r: dict[str, Any]) -> str:
        english = str(r.get("name_en") or r["id"])
        return text(str(r["name"]) if lang == "zh-CN" else english, english)

    try:
        pdf.set_auto_page_break(True, margin=12)
        pdf.add_page()
        pdf.set_font(family, size=16)
        title = "区域报告" if lang == "zh-CN" else "Regional report"
        pdf.cell(0, 10, f"{title}: {name(report.region)}", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(family, size=10)
        arrow, dash = text(" › ", " > "), text(" – ", " - ")
        pdf.cell(0, 6, arrow.join(name(r) for r in report.path) + f"    {report.start}{dash}{report.end}",
                 new_x="LMARGIN", new_y="NEXT")
        if not font.cjk:
            pdf.set_font(family, size=8)
            pdf.cell(0, 5, NO_CJK_NOTE, new_x="LMARGIN", new_y="NEXT")
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
            label = row.name if lang == "zh-CN" or row.level == "farm" else row.key
            cells = [text(label, row.key)] + [_fmt(_cell(row, k), font) for k in keys[1:]]
            for w, c in zip(widths, cells, strict=True):
                pdf.cell(w, 6, str(c)[:28], border=1)
            pdf.ln(6)
        pdf.ln(4)
        pdf.set_font(family, size=9)
        caption = "告警（类型/级别）" if lang == "zh-CN" else "Alerts by type and severity"
        pdf.cell(0, 6, caption, new_x="LMARGIN", new_y="NEXT")
        for kind, severity, count in report.alerts_by_type[:20]:
            pdf.cell(0, 5, text(f"{word(kind, lang)} / {word(severity, lang)}: {count}",
                                f"{kind} / {severity}: {count}"),
                     new_x="LMARGIN", new_y="NEXT")
        if report.daily:
            pdf.add_page()
            pdf.set_font(family, size=10)
            draw_pdf_chart(pdf, report, lang, x=15, y=15, w=260, h=110)
        return bytes(pdf.output())
    except FPDFException as exc:  # FPDFUnicodeEncodingException among them: text the font cannot encode
        raise PdfUnavailable(f"the PDF cannot be drawn with {font.path or 'Helvetica'} ({exc})") from None


def _latin(text: str, font: PdfFont) -> str:
    """`text` with what the font cannot show replaced by '?' (ids and English names rarely need it)."""
    return "".join(c if font.shows(c) else "?" for c in text)


def _fmt(v: Any, font: PdfFont | None = None) -> str:
    if v is None:
        return "–" if font is None or font.shows("–") else "-"
    if isinstance(v, float):
        return f"{v:.2f}" if abs(v) < 100 else f"{v:.0f}"
    return str(v)


def to_parquet(report: RegionReport, lang: str = "zh-CN") -> bytes:
    """The report table as cloud/reports/dataframes.py types it (`lang` has no effect: columns are keys)."""
    from cloud.reports.dataframes import parquet_bytes, report_frames

    return parquet_bytes(report_frames(report).table)
