"""The SMS outbox: a state machine per message with retries, backoff and idempotent enqueue.

pending --send ok--> sent --receipt--> delivered
   |  \\--transient error--> pending (attempts+1, next try after backoff)
   |  \\--provider's per-number limit--> pending (next try when its window opens)
   |   \\--permanent error / too old--> failed (a template or number refusal is recorded
   |                                      for an operator: cloud/notify/refusals.py)
   \\--alert resolved before sending--> cancelled

The message key is the idempotency key: enqueueing the same key twice is a no-op, and the
key travels to providers that can deduplicate on it. Time is passed in (event time or a
simulated clock), never read here.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from cloud.alerts.model import Severity
from cloud.notify.provider_pacing import SentSms, provider_day_start, provider_wait
from cloud.notify.providers import (
    PermanentSendError,
    RateLimitedSendError,
    SmsProvider,
    SmsRequest,
    TemplateSmsProvider,
    TransientSendError,
)
from cloud.notify.refusals import MemoryRefusalLog, RefusalLog
from cloud.notify.segments import count_segments
from cloud.notify.templates import template_text

log = logging.getLogger(__name__)


class OutState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass
class OutMessage:
    key: str
    alert_id: str
    recipient: str
    phone: str
    text: str
    severity: Severity
    created_at: datetime
    not_before: datetime
    segments: int = 1
    lang: str = "zh-CN"
    kind: str = "alert"  # the alert type, or "digest"
    cost: float = 0.0
    state: OutState = OutState.PENDING
    attempts: int = 0
    last_error: str | None = None
    provider_id: str | None = None
    provider: str | None = None
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    template: str | None = None  # the approved template (cloud/notify/templates.py) and its values
    params: dict[str, str] = field(default_factory=dict)
    reply_code: str | None = None  # quoted by a reply to acknowledge the alert


REPLY_WINDOW = timedelta(days=7)  # a reply code names one alert per phone for a week


def same_phone(a: str, b: str) -> bool:
    """"+8613800000001" and "13800000001" are one phone (Aliyun pushes numbers without +86)."""
    return a[-11:] == b[-11:]


class OutboxStore(Protocol):
    def add(self, message: OutMessage) -> bool:
        """Insert unless the key exists (then False): the database does ON CONFLICT DO NOTHING."""
        ...

    def get(self, key: str) -> OutMessage | None: ...

    def due(self, now: datetime, limit: int) -> list[OutMessage]: ...

    def save(self, message: OutMessage) -> None: ...

    def by_provider_id(self, provider_id: str) -> OutMessage | None: ...

    def pending_for_alert(self, alert_id: str) -> list[OutMessage]: ...

    def scheduled_for(self, recipient: str, since: datetime) -> list[datetime]:
        """Planned or past send times for a recipient (rate limiting)."""
        ...

    def sent_to(self, phone: str, since: datetime) -> list[SentSms]:
        """SMS the provider accepted for this phone since then (the provider's limits)."""
        ...

    def reply_codes(self, phone: str, since: datetime) -> dict[str, str]:
        """Reply code -> alert id of the messages to this phone since then."""
        ...

    def alert_for_reply(self, phone: str, code: str, at: datetime) -> str | None:
        """The alert whose message to this phone, sent before `at` and within the reply
        window, carried this code: the reply's match by content and time."""
        ...


class MemoryOutboxStore:
    def __init__(self) -> None:
        self.messages: dict[str, OutMessage] = {}
        self._by_provider: dict[str, str] = {}

    def add(self, message: OutMessage) -> bool:
        if message.key in self.messages:
            return False
        self.messages[message.key] = message
        return True

    def get(self, key: str) -> OutMessage | None:
        return self.messages.get(key)

    def due(self, now: datetime, limit: int) -> list[OutMessage]:
        ready = [
            m for m in self.messages.values() if m.state is OutState.PENDING and m.not_before <= now
        ]
        # Critical first, then oldest first: a backlog must not delay a disease alert.
        ready.sort(key=lambda m: (-m.severity, m.not_before, m.key))
        return ready[:limit]

    def save(self, message: OutMessage) -> None:
        self.messages[message.key] = message
        if message.provider_id:
            self._by_provider[message.provider_id] = message.key

    def by_provider_id(self, provider_id: str) -> OutMessage | None:
        key = self._by_provider.get(provider_id)
        return None if key is None else self.messages.get(key)

    def pending_for_alert(self, alert_id: str) -> list[OutMessage]:
        return [
            m
            for m in self.messages.values()
            if m.alert_id == alert_id and m.state is OutState.PENDING
        ]

    def scheduled_for(self, recipient: str, since: datetime) -> list[datetime]:
        return [
            m.sent_at or m.not_before
            for m in self.messages.values()
            if m.recipient == recipient
            and m.state is not OutState.CANCELLED
            and (m.sent_at or m.not_before) >= since
        ]

    def sent_to(self, phone: str, since: datetime) -> list[SentSms]:
        return [
            SentSms(m.sent_at, m.template, m.text)
            for m in self.messages.values()
            if m.sent_at is not None
            and m.sent_at >= since
            and m.state in (OutState.SENT, OutState.DELIVERED)
            and same_phone(m.phone, phone)
        ]

    def reply_codes(self, phone: str, since: datetime) -> dict[str, str]:
        return {
            m.reply_code: m.alert_id
            for m in sorted(self.messages.values(), key=lambda m: m.created_at)
            if m.reply_code and m.created_at >= since and same_phone(m.phone, phone)
        }

    def alert_for_reply(self, phone: str, code: str, at: datetime) -> str | None:
        found = [
            m
            for m in self.messages.values()
            if m.reply_code == code
            and m.sent_at is not None
            and at - REPLY_WINDOW <= m.sent_at <= at
            and same_phone(m.phone, phone)
        ]
        return max(found, key=lambda m: m.sent_at or at).alert_id if found else None


@dataclass(frozen=True)
class Backoff:
    first: timedelta = timedelta(seconds=30)
    factor: float = 2.0
    cap: timedelta = timedelta(minutes=5)
    critical_cap: timedelta = timedelta(
        minutes=2
    )  # a disease alert must not wait long after an outage
    jitter: float = 0.2  # +-20 %, derived from the key so runs are reproducible

    def delay(self, attempts: int, key: str, severity: Severity = Severity.WARNING) -> timedelta:
        cap = self.critical_cap if severity >= Severity.CRITICAL else self.cap
        base = min(
            self.first.total_seconds() * self.factor ** max(attempts - 1, 0), cap.total_seconds()
        )
        spread = int(hashlib.sha256(f"{key}:{attempts}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
        return timedelta(seconds=base * (1 + self.jitter * (2 * spread - 1)))


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    paced: int = 0  # held back by the provider's per-number limits, before or after a refusal
    errors: Counter[str] = field(default_factory=Counter)


class Outbox:
    def __init__(
        self,
        store: OutboxStore,
        provider: SmsProvider,
        backoff: Backoff | None = None,
        max_age: timedelta = timedelta(hours=24),
        batch: int = 50,
        refusals: RefusalLog | None = None,
    ) -> None:
        self.store = store
        self.provider = provider
        self.refusals: RefusalLog = refusals if refusals is not None else MemoryRefusalLog()
        self.backoff = backoff or Backoff()
        self.max_age = max_age
        self.batch = batch
        self.counters: Counter[str] = Counter()
        self._provider_down = False

    def enqueue(self, message: OutMessage) -> bool:
        added = self.store.add(message)
        self.counters["enqueued" if added else "duplicate_enqueue"] += 1
        return added

    def deliver_due(self, now: datetime) -> DeliveryReport:
        report = DeliveryReport()
        for message in self.store.due(now, self.batch):
            self._attempt(message, now, report)
        return report

    def _attempt(self, message: OutMessage, now: datetime, report: DeliveryReport) -> None:
        if now - message.created_at > self.max_age:
            self._fail(message, "too old to be useful", report)
            return
        if self._paced(message, now, report):
            return
        message.attempts += 1
        message.provider = self.provider.name
        try:
            provider_id = self._send(message)
        except RateLimitedSendError as exc:
            # The provider's per-number window: not an outage, no backoff, no operator.
            message.last_error = exc.detail
            message.not_before = (
                provider_day_start(now) + timedelta(days=1, minutes=1)
                if exc.next_day
                else now + (exc.retry_after or self.backoff.first)
            )
            report.paced += 1
            report.errors[exc.code or "rate_limited"] += 1
            self.counters["rate_limited"] += 1
            self.store.save(message)
            return
        except TransientSendError as exc:
            message.last_error = exc.detail
            message.not_before = now + self.backoff.delay(
                message.attempts, message.key, message.severity
            )
            report.retried += 1
            report.errors["transient"] += 1
            self.counters["retry"] += 1
            if not self._provider_down:  # log the outage once, not once per message
                self._provider_down = True
                log.warning(
                    "SMS provider %s unavailable (%s); retrying with backoff",
                    self.provider.name,
                    exc.detail,
                )
            self.store.save(message)
            return
        except PermanentSendError as exc:
            self._fail(message, exc.detail, report)
            report.errors[exc.code or exc.cause] += 1
            self.refusals.record(message, exc, now)
            return
        except (
            Exception
        ) as exc:  # an adapter bug: keep the message, retry later, keep the worker up
            log.exception(
                "SMS %s: provider %s raised unexpectedly", message.key, self.provider.name
            )
            message.last_error = f"{type(exc).__name__}: {exc}"[:500]
            message.not_before = now + self.backoff.delay(
                message.attempts, message.key, message.severity
            )
            report.retried += 1
            report.errors["unexpected"] += 1
            self.store.save(message)
            return
        if self._provider_down:
            self._provider_down = False
            log.warning("SMS provider %s is back", self.provider.name)
        if message.template and isinstance(self.provider, TemplateSmsProvider):
            # Record what the provider sent: its signature and the approved template filled in.
            sent = template_text(self.provider.sign_name, message.template, message.params)
            if sent and sent != message.text:
                segments = count_segments(sent).count
                if message.segments:
                    message.cost = round(message.cost * segments / message.segments, 4)
                message.text, message.segments = sent, segments
        message.state = OutState.SENT
        message.provider_id = provider_id
        message.sent_at = now
        message.last_error = None
        report.sent += 1
        self.counters["sent"] += 1
        self.counters["segments"] += message.segments
        self.store.save(message)

    def _send(self, message: OutMessage) -> str:
        provider = self.provider
        if message.template and isinstance(provider, TemplateSmsProvider):
            request = SmsRequest(
                message.phone, message.text, message.key, message.template, message.params
            )
            return provider.send_template(request)
        return provider.send(message.phone, message.text, message.key)

    def _paced(self, message: OutMessage, now: datetime, report: DeliveryReport) -> bool:
        """Hold a message the provider would refuse for its per-number limits."""
        limits = getattr(self.provider, "limits", None)
        if limits is None:
            return False
        history = self.store.sent_to(message.phone, now - timedelta(days=1, hours=1))
        wait = provider_wait(limits, history, message.template, message.text, now)
        if wait is None:
            return False
        message.not_before, why = wait
        report.paced += 1
        self.counters["provider_paced"] += 1
        log.info("SMS %s waits until %s (%s, %s)", message.key, message.not_before.isoformat(),
                 self.provider.name, why)
        self.store.save(message)
        return True

    def _fail(self, message: OutMessage, why: str, report: DeliveryReport) -> None:
        message.state = OutState.FAILED
        message.last_error = why
        report.failed += 1
        self.counters["failed"] += 1
        log.warning("SMS %s to %s failed for good: %s", message.key, message.recipient, why)
        self.store.save(message)

    def receipt(
        self, provider_id: str, delivered: bool, at: datetime, error: str | None = None
    ) -> OutMessage | None:
        """A delivery receipt; unknown ids return None (the caller counts them)."""
        message = self.store.by_provider_id(provider_id)
        if message is None:
            self.counters["receipt_unknown"] += 1
            return None
        if message.state in (OutState.DELIVERED, OutState.FAILED):
            return message  # repeated receipt: already final
        if delivered:
            message.state, message.delivered_at = OutState.DELIVERED, at
        else:
            message.state, message.last_error = OutState.FAILED, error or "undelivered"
        self.counters["receipt_" + message.state.value] += 1
        self.store.save(message)
        return message

    def cancel_for_alert(self, alert_id: str) -> int:
        """The alert resolved before these were sent: old news, do not send."""
        cancelled = 0
        for message in self.store.pending_for_alert(alert_id):
            if message.severity >= Severity.CRITICAL:
                continue  # a critical message stays: the farmer must know it happened
            message.state = OutState.CANCELLED
            self.store.save(message)
            cancelled += 1
        self.counters["cancelled"] += cancelled
        return cancelled
