"""Report routes: the regional report as JSON, and as CSV, XLSX, PDF or Parquet downloads."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

import psycopg
from fastapi import APIRouter, Depends, Query, Request, Response
from psycopg_pool import ConnectionPool, PoolTimeout

from cloud.api.deps import Conn, CurrentScope
from cloud.api.schemas import Id
from cloud.reports import export, service
from cloud.reports.rollup import RegionReport

router = APIRouter(tags=["reports"])
MEDIA = {"csv": "text/csv; charset=utf-8",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         "pdf": "application/pdf",
         "parquet": "application/vnd.apache.parquet"}


def side_connection(request: Request) -> Iterator[psycopg.Connection | None]:
    """A second pooled connection if one is free right now (never waits): reports then run
    their independent sections on two database backends."""
    pool: ConnectionPool = request.app.state.pool
    try:
        conn = pool.getconn(timeout=0.05)
    except PoolTimeout:
        yield None
        return
    try:
        yield conn
    finally:
        conn.rollback()
        pool.putconn(conn)


Side = Annotated[psycopg.Connection | None, Depends(side_connection)]


def period(start: date | None, end: date | None) -> tuple[date, date]:
    default_start, default_end = service.default_period(datetime.now(ZoneInfo("Asia/Shanghai")).date())
    return start or default_start, end or default_end


@router.get("/reports/regions/{region_id}", response_model=RegionReport)
def region_report(region_id: Id, conn: Conn, scope: CurrentScope, side: Side, start: date | None = None,
                  end: date | None = None) -> RegionReport:
    """Coverage, mortality against expected, weight against the breed standard, alerts and SMS,
    for the region and each of its children (regions, or farms in a village)."""
    return service.regional_report(conn, scope, region_id, *period(start, end), side=side)


@router.get("/reports/regions/{region_id}/export", response_class=Response,
            responses={200: {"content": {m: {} for m in MEDIA.values()}}})
def region_export(region_id: Id, conn: Conn, scope: CurrentScope, side: Side,
                  format: Annotated[Literal["csv", "xlsx", "pdf", "parquet"], Query()] = "csv",
                  lang: Annotated[Literal["zh-CN", "en"], Query()] = "zh-CN",
                  start: date | None = None, end: date | None = None) -> Response:
    report = service.regional_report(conn, scope, region_id, *period(start, end), side=side)
    render = {"csv": export.to_csv, "xlsx": export.to_xlsx, "pdf": export.to_pdf, "parquet": export.to_parquet}[format]
    filename = f"fuhuiyang-{region_id}-{report.start}-{report.end}.{format}"
    return Response(render(report, lang), media_type=MEDIA[format],
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
