"""The regional report's exports carry its chart: a live Excel line chart over the daily sheet,
and the daily mortality drawn as vector lines on its own PDF page."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from tests.api.conftest import ApiWorld

PERIOD = {"start": "2026-11-01", "end": "2026-11-29"}


def test_xlsx_and_pdf_exports_have_the_daily_mortality_chart(web: ApiWorld) -> None:
    h = web.headers("tech1")
    xlsx = web.client.get("/api/v1/reports/regions/c1/export", headers=h, params={**PERIOD, "format": "xlsx"})
    raw = io.BytesIO(xlsx.content)
    import zipfile

    assert any(n.startswith("xl/charts/chart") for n in zipfile.ZipFile(raw).namelist())
    daily = load_workbook(raw)["每日死亡率"]
    assert daily.max_row > 2  # the chart's data are the sheet's own rows
    pdf = web.client.get("/api/v1/reports/regions/c1/export", headers=h, params={**PERIOD, "format": "pdf"})
    assert pdf.status_code == 200 and pdf.content.count(b"/Type /Page\n") + pdf.content.count(b"/Type /Page>") >= 2 \
        or pdf.content.count(b"/Type /Page") - pdf.content.count(b"/Type /Pages") >= 2
