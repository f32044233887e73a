"""Farmer-entered daily records, dead-bird records and alerts."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query

from cloud.api.deps import Conn, CurrentScope, Now, Settings
from cloud.api.pagination import Page, PageParams, page_params
from cloud.api.schemas import (
    AlertOut,
    DailyRecordIn,
    DailyRecordOut,
    Id,
    IntId,
    MortalityDecision,
    MortalityOut,
)
from cloud.api.services import alerts, records

router = APIRouter(tags=["records"])
Paging = Annotated[PageParams, Depends(page_params)]


@router.get("/flocks/{flock_id}/daily-records", response_model=Page[DailyRecordOut])
def list_daily(flock_id: Id, conn: Conn, scope: CurrentScope, paging: Paging,
               start: date | None = None, end: date | None = None) -> Page[DailyRecordOut]:
    items, total = records.list_daily(conn, scope, flock_id, paging, start, end)
    return Page(items=[DailyRecordOut(**i) for i in items], total=total, **paging.model_dump())


@router.put("/flocks/{flock_id}/daily-records/{day}", response_model=DailyRecordOut)
def put_daily(flock_id: Id, day: date, body: DailyRecordIn, conn: Conn, scope: CurrentScope, now: Now,
              settings: Settings) -> DailyRecordOut:
    today = now.astimezone(ZoneInfo(settings.timezone)).date()
    return DailyRecordOut(**records.put_daily(conn, scope, flock_id, day, body.model_dump(), today))


@router.get("/mortality", response_model=Page[MortalityOut])
def list_mortality(conn: Conn, scope: CurrentScope, paging: Paging,
                   farm_id: Annotated[Id | None, Query()] = None, pending: bool | None = None) -> Page[MortalityOut]:
    items, total = records.list_mortality(conn, scope, paging, farm_id=farm_id, pending=pending)
    return Page(items=[MortalityOut(**i) for i in items], total=total, **paging.model_dump())


@router.post("/mortality/{record_id}/decision", response_model=MortalityOut)
def decide(record_id: IntId, body: MortalityDecision, conn: Conn,
           scope: CurrentScope) -> MortalityOut:
    """Confirm or reject a detector's dead-bird record (the photo is in `frame`)."""
    return MortalityOut(**records.decide_mortality(conn, scope, record_id, body.confirmed))


@router.get("/alerts", response_model=Page[AlertOut])
def list_alerts(conn: Conn, scope: CurrentScope, paging: Paging,
                state: Annotated[str | None, Query(pattern="^(open|acknowledged|resolved|live)$")] = None,
                severity: Annotated[str | None, Query(pattern="^(info|warning|critical)$")] = None,
                farm_id: Annotated[Id | None, Query()] = None) -> Page[AlertOut]:
    items, total = alerts.list_alerts(conn, scope, paging, state=state, farm_id=farm_id, severity=severity)
    return Page(items=[AlertOut(**i) for i in items], total=total, **paging.model_dump())


@router.get("/alerts/{alert_id}", response_model=AlertOut)
def get_alert(alert_id: IntId, conn: Conn, scope: CurrentScope) -> AlertOut:
    return AlertOut(**alerts.get_alert(conn, scope, alert_id))


@router.post("/alerts/{alert_id}/acknowledge", response_model=AlertOut)
def acknowledge(alert_id: IntId, conn: Conn, scope: CurrentScope) -> AlertOut:
    return AlertOut(**alerts.acknowledge(conn, scope, alert_id, datetime.now(UTC)))
