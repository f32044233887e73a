"""The provider layer's own guard: each provider's per-number limits, checked before a send.

The SMS budget (cloud/notify/budget.py) decides whom to tell and how often; this guard only
keeps us inside what the provider accepts, so a message waits for its window instead of being
refused (and counted against us):

- Aliyun: per number, 50 notification messages a natural day per signature and template
  (its flow-control rule for notifications; isv.BUSINESS_LIMIT_CONTROL when exceeded).
- Tencent Cloud SMS: the same content to one number at most once in 30 s, and at most 10
  messages a natural day per number by default (LimitExceeded.PhoneNumberThirtySecondLimit /
  PhoneNumberDailyLimit); enterprise accounts can change the caps, so they are settings.

Natural days are the providers' own: Beijing time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone


@dataclass(frozen=True)
class ProviderLimits:
    same_content_gap: timedelta | None = None
    per_number_day: int | None = None
    per_template_day: int | None = None  # per number, per signature and template
    utc_offset_h: float = 8.0


ALIYUN_LIMITS = ProviderLimits(per_template_day=50)
TENCENT_LIMITS = ProviderLimits(same_content_gap=timedelta(seconds=30), per_number_day=10)
NO_LIMITS = ProviderLimits()


@dataclass(frozen=True)
class SentSms:
    """One SMS the provider accepted for a number (the history the guard counts)."""

    at: datetime
    template: str | None
    text: str


def provider_day_start(at: datetime, utc_offset_h: float = 8.0) -> datetime:
    tz = timezone(timedelta(hours=utc_offset_h))
    local = at.astimezone(tz)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(at.tzinfo)


def provider_wait(
    limits: ProviderLimits,
    history: Sequence[SentSms],
    template: str | None,
    text: str,
    now: datetime,
) -> tuple[datetime, str] | None:
    """When this message may go to this number, and which limit holds it; None: now."""
    waits: list[tuple[datetime, str]] = []
    if limits.same_content_gap is not None:
        recent = [h.at for h in history if h.text == text and now - h.at < limits.same_content_gap]
        if recent:
            waits.append((max(recent) + limits.same_content_gap, "same_content_gap"))
    day_start = provider_day_start(now, limits.utc_offset_h)
    next_day = day_start + timedelta(days=1)
    today = [h for h in history if h.at >= day_start]
    if limits.per_number_day is not None and len(today) >= limits.per_number_day:
        waits.append((next_day, "number_daily_cap"))
    if limits.per_template_day is not None and template is not None:
        same = sum(1 for h in today if h.template == template)
        if same >= limits.per_template_day:
            waits.append((next_day, "template_daily_cap"))
    return max(waits) if waits else None
