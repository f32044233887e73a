"""Report routes: the regional report as JSON, and as CSV, XLSX, PDF or Parquet downloads."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime
from functools import partial
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

import psycopg
from fastapi import APIRouter, Depends, Query, Request, Response
from psycopg_pool import ConnectionPool, PoolTimeout

from cloud.api.deps import Conn, CurrentScope, Settings
from cloud.api.errors import ApiError
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
            responses={200: {"content": {m: {} for m in MEDIA.values()}},
                       503: {"description": "PDF export unavailable on this server (no usable font)"}})
def region_export(region_id: Id, conn: Conn, scope: CurrentScope, side: Side, settings: Settings,
                  format: Annotated[Literal["csv", "xlsx", "pdf", "parquet"], Query()] = "csv",
                  lang: Annotated[Literal["zh-CN", "en"], Query()] = "zh-CN",
                  start: date | None = None, end: date | None = None) -> Response:
    report = service.regional_report(conn, scope, region_id, *period(start, end), side=side)
    render: dict[str, Callable[[RegionReport, str], bytes]] = {
        "csv": export.to_csv, "xlsx": export.to_xlsx, "parquet": export.to_parquet,
        "pdf": partial(export.to_pdf, font_path=settings.pdf_font)}
    filename = f"fuhuiyang-{region_id}-{report.start}-{report.end}.{format}"
    try:
        content = render[format](report, lang)
    except export.PdfUnavailable as exc:  # the server's fault, not the caller's: say so, no 500
        raise ApiError(503, "unavailable", f"PDF export is unavailable on this server: {exc}; "
                                           "CSV, XLSX and Parquet work") from None
    return Response(content, media_type=MEDIA[format],
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
