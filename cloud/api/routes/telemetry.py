"""Time-bucketed environment series and daily weighing summaries of a house."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from cloud.api.deps import Conn, CurrentScope
from cloud.api.schemas import Id, SeriesPointOut, WeightDayOut
from cloud.api.services import telemetry
from protocol.messages import Metric

router = APIRouter(tags=["telemetry"])


@router.get("/houses/{house_id}/series", response_model=list[SeriesPointOut])
def env_series(house_id: Id, metric: Metric, start: datetime, end: datetime, conn: Conn, scope: CurrentScope,
               bucket: Annotated[str, Query(pattern="^(hour|day)$")] = "hour") -> list[SeriesPointOut]:
    points = telemetry.env_series(conn, scope, house_id, str(metric), start, end,
                                  "hour" if bucket == "hour" else "day")
    return [SeriesPointOut(**p) for p in points]


@router.get("/houses/{house_id}/weights", response_model=list[WeightDayOut])
def weights(house_id: Id, start: date, end: date, conn: Conn, scope: CurrentScope) -> list[WeightDayOut]:
    return [WeightDayOut(**d) for d in telemetry.weight_days(conn, scope, house_id, start, end)]
