"""The farmer's phone page: flock, environment, alerts, daily record, dead-bird photos."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from cloud.api.deps import Conn
from cloud.api.errors import not_found
from cloud.api.pagination import PageParams
from cloud.api.schemas import DailyRecordIn
from cloud.api.scope import Role, may
from cloud.api.services import alerts, catalog, records
from cloud.frames_store import FrameStore
from cloud.web.deps import SameOrigin, WebScope
from cloud.web.farm_view import farm_page
from cloud.web.forms import number_rules, parse_numbers
from cloud.web.i18n import translator
from cloud.web.render import lang_of, render

router = APIRouter()
FARM_TZ = ZoneInfo("Asia/Shanghai")


def _now(request: Request) -> tuple[datetime, date]:
    now: datetime = request.app.state.clock()
    return now, now.astimezone(FARM_TZ).date()


@router.get("/farm")
def farm(request: Request, conn: Conn, scope: WebScope, farm: str | None = None, saved: str | None = None,
         day: date | None = None, photos: Annotated[int, Query(ge=0, le=10_000)] = 0) -> Response:
    if farm is None:
        mine, _ = catalog.list_farms(conn, scope, PageParams(limit=50, offset=0))
        if scope.principal.role is not Role.FARMER or not mine:
            raise not_found("farm", "-")
        if len(mine) > 1:
            return render(request, "choose_farm.html", {"principal": scope.principal, "farms": mine})
        farm = mine[0]["id"]
    now, today = _now(request)
    t = translator(lang_of(request, scope.principal))
    view = farm_page(conn, scope, farm, now, today, t, day, photos)
    return render(request, "farm.html", {"principal": scope.principal, **view, "today": today, "saved": saved,
                                         "record_rules": number_rules(DailyRecordIn),
                                         "can_record": may(scope.principal, "record_daily"),
                                         "can_ack": may(scope.principal, "acknowledge_alert")})


@router.post("/farm/{farm_id}/alerts/{alert_id}/ack")
def acknowledge(request: Request, farm_id: str, alert_id: int, conn: Conn, scope: WebScope,
                _: SameOrigin) -> Response:
    alerts.acknowledge(conn, scope, alert_id, _now(request)[0])
    return RedirectResponse(f"/farm?farm={farm_id}#alerts", status_code=303)


@router.post("/farm/{farm_id}/records")
def record(request: Request, farm_id: str, conn: Conn, scope: WebScope, _: SameOrigin,
           flock_id: Annotated[str, Form(max_length=64)], day: Annotated[date, Form()],
           deaths: Annotated[str | None, Form(max_length=24)] = None,
           culls: Annotated[str | None, Form(max_length=24)] = None,
           feed_kg: Annotated[str | None, Form(max_length=24)] = None,
           water_l: Annotated[str | None, Form(max_length=24)] = None,
           eggs: Annotated[str | None, Form(max_length=24)] = None) -> Response:
    flock = catalog.get_flock(conn, scope, flock_id)
    if flock["farm_id"] != farm_id:
        raise not_found("flock", flock_id)
    values = parse_numbers(DailyRecordIn, {"deaths": deaths, "culls": culls, "feed_kg": feed_kg,
                                           "water_l": water_l, "eggs": eggs})
    records.put_daily(conn, scope, flock_id, day, values.model_dump(), _now(request)[1])
    return RedirectResponse(f"/farm?farm={farm_id}&day={day}&saved=1#record", status_code=303)


@router.post("/farm/{farm_id}/mortality/{record_id}")
def decide(farm_id: str, record_id: int, conn: Conn, scope: WebScope, _: SameOrigin,
           decision: Annotated[str, Form(pattern="^(confirm|reject)$")]) -> Response:
    records.decide_mortality(conn, scope, record_id, decision == "confirm")
    return RedirectResponse(f"/farm?farm={farm_id}#photos", status_code=303)


@router.get("/photos/{record_id}/frame")
def photo_frame(request: Request, record_id: int, conn: Conn, scope: WebScope) -> Response:
    """The whole camera frame behind a dead-bird crop, to see where in the house it lies."""
    return photo(request, record_id, conn, scope, part="frame")


@router.get("/photos/{record_id}")
def photo(request: Request, record_id: int, conn: Conn, scope: WebScope, part: str = "crop") -> Response:
    row = conn.execute("SELECT farm_id, evidence ->> %s FROM mortality_records WHERE id = %s",
                       ("frame" if part == "frame" else "crop", record_id)).fetchone()
    if row is None or not scope.farm_visible(row[0]) or not row[1]:
        raise not_found("photo", record_id)
    try:
        frames: FrameStore = request.app.state.frames  # local or S3, as ingest and detection write
        data = frames.read(row[1])
    except (OSError, ValueError) as exc:
        raise not_found("photo", record_id) from exc
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=86400"})
