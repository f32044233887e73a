"""Provider refusals that need a person: a template, signature or credential the provider
refuses (an operator fixes the template or the settings; no retry helps), or a number it will
not send to (the recipient's record is marked, so the console shows whose number to correct).

The outbox records each permanent refusal here; the console lists them (cloud/web), the
database keeps them in `sms_refusals` (cloud/notify/refusals_pg.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from cloud.notify.outbox import OutMessage
    from cloud.notify.providers import PermanentSendError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Refusal:
    at: datetime
    provider: str
    code: str | None
    cause: str  # "template", "config", "recipient" or "other"
    template: str | None
    recipient: str
    phone: str
    key: str
    detail: str


class RefusalLog(Protocol):
    def record(self, message: OutMessage, error: PermanentSendError, at: datetime) -> None: ...


def refusal_of(message: OutMessage, error: PermanentSendError, at: datetime) -> Refusal:
    return Refusal(
        at=at,
        provider=message.provider or "?",
        code=error.code,
        cause=error.cause,
        template=message.template,
        recipient=message.recipient,
        phone=message.phone,
        key=message.key,
        detail=error.detail[:500],
    )


@dataclass
class MemoryRefusalLog:
    refusals: list[Refusal] = field(default_factory=list)
    refused_numbers: set[str] = field(default_factory=set)

    def record(self, message: OutMessage, error: PermanentSendError, at: datetime) -> None:
        refusal = refusal_of(message, error, at)
        self.refusals.append(refusal)
        if refusal.cause == "recipient":
            self.refused_numbers.add(message.phone)
        if refusal.cause in ("template", "config"):
            log.error("SMS provider %s refused %s (%s): an operator must act: %s",
                      refusal.provider, refusal.template or "a message", refusal.code, refusal.detail)
