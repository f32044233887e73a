"""PDF exports never crash: a CJK font when the server has one, English names and a note when it
has none (not even DejaVu), and a clear 503 when the font it has will not load."""

from __future__ import annotations

import re
import zlib
from datetime import date
from pathlib import Path

import pytest

from cloud.reports import export
from cloud.reports.queries import FarmFacts, ReportData
from cloud.reports.rollup import RegionReport, build
from cloud.reports.weekly import write_weekly
from tests.api import world
from tests.api.conftest import ApiWorld
from tests.api.test_reports import PERIOD
from tests.support.databases import TestDatabase

WQY = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"


def chinese_report() -> RegionReport:
    regions = [{"id": "c1", "parent_id": None, "level": "county", "name": "凤冈县", "name_en": "Fenggang"},
               {"id": "t1", "parent_id": "c1", "level": "township", "name": "永安镇", "name_en": None}]
    farms = {"f1": FarmFacts("f1", "农场一", "t1", birds=300, deaths=3, bird_days=2000,
                             alerts={("mortality", "critical"): 1}),
             "f2": FarmFacts("f2", "农场二", "c1", birds=100)}  # a farm right in the county: a farm row
    return build(regions[0], regions, ReportData(farms, {date(2026, 11, 27): (3, 2000)}, {}),
                 date(2026, 11, 21), date(2026, 11, 29))


def page_text(pdf: bytes) -> str:
    """The text drawn with the built-in font (TTF text is glyph ids, not searchable this way)."""
    out = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, flags=re.S):
        try:
            out.append(zlib.decompress(stream).decode("latin-1"))
        except zlib.error:
            continue
    return "\n".join(out)


def no_fonts(monkeypatch: pytest.MonkeyPatch, latin: tuple[str, ...] = ()) -> None:
    monkeypatch.setattr(export, "CJK_FONTS", ())
    monkeypatch.setattr(export, "LATIN_FONTS", latin)


@pytest.mark.skipif(not Path(WQY).exists(), reason="fonts-wqy-microhei is not installed")
def test_with_a_cjk_font_the_pdf_is_in_chinese(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(export, "CJK_FONTS", (WQY,))
    pdf = export.to_pdf(chinese_report(), "zh-CN")
    assert pdf.startswith(b"%PDF") and b"WenQuanYi" in pdf
    assert export.find_pdf_font().cjk


def test_without_any_font_the_pdf_falls_back_to_english_with_a_note(monkeypatch: pytest.MonkeyPatch) -> None:
    no_fonts(monkeypatch)
    assert export.find_pdf_font() == export.PdfFont(None, cjk=False)
    pdf = export.to_pdf(chinese_report(), "zh-CN")  # Helvetica: Latin-1 only; this used to raise
    text = page_text(pdf)
    assert pdf.startswith(b"%PDF")
    assert "Regional report: Fenggang" in text and "no Chinese font" in text
    assert "(t1)" in text and "(f2)" in text  # a township without an English name and a farm: their ids


@pytest.mark.skipif(not Path(export.LATIN_FONTS[0]).exists(), reason="DejaVu is not installed")
def test_with_only_a_latin_font_the_pdf_still_renders(monkeypatch: pytest.MonkeyPatch) -> None:
    no_fonts(monkeypatch, latin=export.LATIN_FONTS)
    font = export.find_pdf_font()
    assert not font.cjk and not font.shows("凤冈县") and font.shows("Fenggang › –")
    pdf = export.to_pdf(chinese_report(), "zh-CN")
    assert pdf.startswith(b"%PDF") and b"DejaVu" in pdf


def test_a_configured_font_that_is_missing_is_passed_over(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    no_fonts(monkeypatch)
    assert export.find_pdf_font(tmp_path / "absent.ttf").path is None
    (tmp_path / "mine.ttf").write_bytes(b"x")
    assert export.find_pdf_font(tmp_path / "mine.ttf") == export.PdfFont(str(tmp_path / "mine.ttf"), cjk=True)


def test_the_export_route_falls_back_or_answers_503(api: ApiWorld, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    params = {**PERIOD, "format": "pdf", "lang": "zh-CN"}
    no_fonts(monkeypatch)
    r = api.client.get("/api/v1/reports/regions/c1/export", headers=api.headers("tech1"), params=params)
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert "Fenggang" in page_text(r.content)
    broken = tmp_path / "broken.ttc"
    broken.write_bytes(b"not a font")
    monkeypatch.setattr(export, "CJK_FONTS", (str(broken),))
    r = api.client.get("/api/v1/reports/regions/c1/export", headers=api.headers("tech1"), params=params)
    assert r.status_code == 503
    error = r.json()["error"]
    assert error["code"] == "unavailable" and "broken.ttc" in error["message"]
    csv = api.client.get("/api/v1/reports/regions/c1/export", headers=api.headers("tech1"),
                         params={**PERIOD, "format": "csv"})
    assert csv.status_code == 200


def test_the_image_ships_a_font_the_search_knows() -> None:
    dockerfile = (Path(__file__).parents[2] / "deploy" / "Dockerfile").read_text()
    assert "fonts-wqy-microhei" in dockerfile
    assert WQY in export.CJK_FONTS  # where Debian's fonts-wqy-microhei puts it


def test_the_weekly_job_writes_the_other_files_when_no_pdf_can_be_made(db: TestDatabase, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    broken = tmp_path / "broken.ttc"
    broken.write_bytes(b"not a font")
    monkeypatch.setattr(export, "CJK_FONTS", (str(broken),))
    with db.connect() as conn:
        world.seed(conn)
        paths = write_weekly(conn, tmp_path / "out", date(2026, 12, 1), ("county",))
    assert sorted(p.suffix for p in paths if p.parent.name == "c1") == [".csv", ".parquet", ".xlsx"]
