"""Programme staff reports: drill down county → township → village → farm, with exports."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from cloud.api.deps import Conn
from cloud.api.errors import forbidden
from cloud.api.scope import may
from cloud.reports import service
from cloud.reports.api import Side
from cloud.reports.rollup import COLUMNS, RegionReport
from cloud.web import charts
from cloud.web.deps import WebScope
from cloud.web.i18n import translator
from cloud.web.render import lang_of, render

router = APIRouter()


@router.get("/reports")
def reports_home(conn: Conn, scope: WebScope) -> Response:
    if not may(scope.principal, "read_reports"):
        raise forbidden()
    if scope.regions is None:
        row = conn.execute("SELECT id FROM regions WHERE parent_id IS NULL ORDER BY id LIMIT 1").fetchone()
    else:
        row = conn.execute("SELECT region_id FROM user_scopes WHERE user_id = %s AND region_id IS NOT NULL "
                           "ORDER BY region_id LIMIT 1", (scope.principal.user_id,)).fetchone()
    if row is None:
        raise forbidden("no region is assigned to you")
    return RedirectResponse(f"/reports/{row[0]}", status_code=303)


def mortality_chart(report: RegionReport, t: object) -> str:
    tr = t if callable(t) else str
    start = report.start
    daily = [(float((d - start).days), r) for d, r in report.daily]
    expected = [(x, report.expected_pct_day) for x, _ in daily]
    span = (report.end - start).days
    ticks = [(float(i), str(start.fromordinal(start.toordinal() + i))[5:]) for i in range(0, span, max(1, span // 4))]
    return charts.line_chart([charts.Series(tr("mortality"), daily, "#b3261e"),
                              charts.Series(tr("expected"), expected, "#555", dashed=True)],
                             title=tr("daily_mortality"), x_labels=ticks, width=360, height=200, y_unit="%")


@router.get("/reports/{region_id}")
def region(request: Request, region_id: str, conn: Conn, scope: WebScope, side: Side, start: date | None = None,
           end: date | None = None) -> Response:
    today = request.app.state.clock().astimezone(ZoneInfo("Asia/Shanghai")).date()
    default_start, default_end = service.default_period(today)
    report = service.regional_report(conn, scope, region_id, start or default_start, end or default_end, side=side)
    t = translator(lang_of(request, scope.principal))
    query = f"start={report.start}&end={report.end}"
    return render(request, "reports.html", {
        "principal": scope.principal, "report": report, "columns": COLUMNS, "chart": mortality_chart(report, t),
        "query": query, "visible": lambda rid: scope.region_visible(rid)})
