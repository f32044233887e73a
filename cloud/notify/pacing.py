"""Per-recipient rate limits and quiet hours. Critical alerts bypass both.

A message held back is deferred, not dropped: it gets a later `not_before`. The outbox
cancels deferred non-critical messages whose alert resolved in the meantime.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone

from cloud.alerts.model import Severity

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@dataclass(frozen=True)
class Pacing:
    max_per_hour: int = 3
    max_per_day: int = 10
    quiet_start: time | None = time(22, 0)  # local time; None turns quiet hours off
    quiet_end: time = time(6, 30)


def earliest_send(
    now: datetime,
    severity: Severity,
    scheduled: Sequence[datetime],
    pacing: Pacing,
    utc_offset_h: float = 8.0,
) -> tuple[datetime, str | None]:
    """When a message may go out, and why it waits (None: now).

    `scheduled` are the send times already planned for this recipient.
    """
    if severity >= Severity.CRITICAL:
        return now, None
    at, reason = now, None
    for _ in range(8):  # a deferral can land in quiet hours, or a full window: settle
        moved = False
        quiet_until = _quiet_until(at, pacing, utc_offset_h)
        if quiet_until is not None:
            at, reason, moved = quiet_until, "quiet_hours", True
        for span, limit in ((HOUR, pacing.max_per_hour), (DAY, pacing.max_per_day)):
            window = sorted(s for s in scheduled if at - span < s <= at)
            if len(window) >= limit:
                at, reason, moved = window[-limit] + span, "rate_limit", True
        if not moved:
            break
    return at, reason


def _quiet_until(at: datetime, pacing: Pacing, utc_offset_h: float) -> datetime | None:
    if pacing.quiet_start is None:
        return None
    tz = timezone(timedelta(hours=utc_offset_h))
    local = at.astimezone(tz)
    start, end = pacing.quiet_start, pacing.quiet_end
    t = local.time()
    inside = (start <= t or t < end) if start > end else (start <= t < end)
    if not inside:
        return None
    end_day = local.date() if t < end else local.date() + timedelta(days=1)
    return datetime.combine(end_day, end, tzinfo=tz).astimezone(at.tzinfo)
