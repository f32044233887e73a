"""Regional reports: numbers computed by hand from the test world, scope, and the three exports."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest

from cloud.reports.queries import FarmFacts, ReportData
from cloud.reports.rollup import EXPECTED_DAILY_MORTALITY, aggregate, build
from tests.api import world
from tests.api.conftest import ApiWorld

PERIOD = {"start": str(world.TODAY - timedelta(days=7)), "end": str(world.TODAY + timedelta(days=1))}
# Each flock: 300 placed, deaths by day oldest first 0,2,1,0,2,1,0 -> alive 300,300,298,297,297,295,294.
DEATHS_PER_FARM, BIRD_DAYS_PER_FARM = 6, 2081


def test_rollup_is_bird_weighted_and_groups_by_child_region() -> None:
    regions = [{"id": "c", "parent_id": None, "level": "county", "name": "C", "name_en": None},
               {"id": "t", "parent_id": "c", "level": "township", "name": "T", "name_en": None},
               {"id": "v", "parent_id": "t", "level": "village", "name": "V", "name_en": None}]
    a = FarmFacts("a", "A", "v", birds=100, deaths=8, bird_days=10_000, weight_birds=100, weight_mean_g=900,
                  weight_expected_g=1000, uniformity_pct=80, ack_seconds=[60, 600, 6000])
    b = FarmFacts("b", "B", "c", birds=300, deaths=0, bird_days=30_000, weight_birds=300, weight_mean_g=1100,
                  weight_expected_g=1000, alerts={("mortality", "critical"): 2})
    report = build(regions[0], regions, ReportData({"a": a, "b": b}, {}, {}), date(2026, 1, 1), date(2026, 2, 1))
    assert [(r.key, r.level) for r in report.children] == [("t", "township"), ("b", "farm")]
    total = report.total
    assert total.deaths == 8 and total.bird_days == 40_000
    assert total.mortality_ratio == pytest.approx((8 / 40_000) / EXPECTED_DAILY_MORTALITY)
    assert total.weight_vs_standard_pct == pytest.approx(100 * (100 * 900 + 300 * 1100) / (400 * 1000))
    assert total.uniformity_pct == 80  # only farm a reported uniformity
    assert total.median_ack_min == 10 and total.alerts_critical == 2
    assert aggregate("x", "X", "village", []).mortality_pct_day is None


def test_county_report_for_its_technician(api_any: ApiWorld) -> None:
    r = api_any.client.get("/api/v1/reports/regions/c1", headers=api_any.headers("tech1"), params=PERIOD)
    assert r.status_code == 200, r.text
    body = r.json()
    assert [(c["key"], c["farms"]) for c in body["children"]] == [("t1", 2), ("t2", 1)]  # sorted by name
    total = body["total"]
    assert total["farms"] == 3 and total["houses"] == 3 and total["birds"] == 3 * 294
    assert total["deaths"] == 3 * DEATHS_PER_FARM and total["bird_days"] == 3 * BIRD_DAYS_PER_FARM
    assert total["gateways"] == 3 and total["online_pct"] == 100
    assert total["alerts"] == 3 and total["alerts_critical"] == 3
    assert [d[0] for d in body["daily"]] == [str(world.TODAY - timedelta(days=d)) for d in range(7, 0, -1)]
    assert body["alerts_by_type"] == [["mortality", "critical", 3]]
    assert [p["id"] for p in body["path"]] == ["p", "c1"]


def test_reports_respect_scope(api: ApiWorld) -> None:
    assert api.client.get("/api/v1/reports/regions/c1", headers=api.headers("staff2")).status_code == 404
    assert api.client.get("/api/v1/reports/regions/v1", headers=api.headers("farmer1")).status_code == 403
    # Programme staff of c2 asking for the province see only c2's farm.
    r = api.client.get("/api/v1/reports/regions/p", headers=api.headers("staff2"), params=PERIOD)
    assert r.status_code == 404
    admin = api.client.get("/api/v1/reports/regions/p", headers=api.headers("admin"), params=PERIOD).json()
    assert admin["total"]["farms"] == 4


def test_exports(api: ApiWorld) -> None:
    h = api.headers("tech1")
    csv = api.client.get("/api/v1/reports/regions/c1/export", headers=h, params={**PERIOD, "format": "csv"})
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[1].startswith("编号,级别,名称") and lines[-1].startswith("c1,县,凤冈县,3,")
    xlsx = api.client.get("/api/v1/reports/regions/c1/export", headers=h, params={**PERIOD, "format": "xlsx"})
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(xlsx.content))
    assert wb.sheetnames == ["报告", "每日死亡率", "每周死亡率", "告警"]
    assert wb["报告"].cell(row=7, column=1).value == "c1"  # header row 4, two children, then the total
    assert [c.value for c in wb["告警"][2]] == ["死亡偏多", "严重", 3]
    english = api.client.get("/api/v1/reports/regions/c1/export", headers=h,
                             params={**PERIOD, "format": "xlsx", "lang": "en"})
    assert load_workbook(io.BytesIO(english.content)).sheetnames == ["Report", "Daily mortality", "Weekly mortality",
                                                                     "Alerts"]
    pdf = api.client.get("/api/v1/reports/regions/c1/export", headers=h,
                         params={**PERIOD, "format": "pdf", "lang": "en"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF") and len(pdf.content) > 1000
