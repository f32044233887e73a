"""GET /sms-budget: per person, SMS sent, held for the digest and suppressed, and why."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from cloud.api.deps import Conn, CurrentScope
from cloud.api.services import sms_budget

router = APIRouter(tags=["alerts"])


@router.get("/sms-budget")
def per_person(conn: Conn, scope: CurrentScope,
               days: Annotated[int, Query(ge=1, le=90)] = 7) -> list[dict[str, Any]]:
    return sms_budget.per_person(conn, scope, days)
