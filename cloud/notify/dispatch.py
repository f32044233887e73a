"""From lifecycle effects to outbox messages: recipients, language, pacing, idempotency keys."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime, timedelta

from cloud.alerts.lifecycle import Effect, Notify, Transition
from cloud.alerts.messages import MessageInput, place_label, render, render_digest
from cloud.alerts.model import AlertKey
from cloud.alerts.policy import COVERED_BY
from cloud.alerts.store import AlertStore
from cloud.notify.outbox import Outbox, OutMessage
from cloud.notify.pacing import Pacing, earliest_send
from cloud.notify.recipients import Directory, Recipient
from cloud.notify.segments import count_segments

log = logging.getLogger(__name__)

# (key, lang) -> how the recipient knows the place, e.g. "李家坪鸡场2号舍"; region code -> name.
PlaceNamer = Callable[[AlertKey, str], str]


def plain_place(key: AlertKey, lang: str) -> str:
    return place_label(key.farm, key.house, lang)


class Dispatcher:
    def __init__(
        self,
        directory: Directory,
        outbox: Outbox,
        alerts: AlertStore,
        pacing: Pacing | None = None,
        place: PlaceNamer = plain_place,
        region_name: Callable[[str], str] = lambda code: code,
        price_per_segment: float = 0.045,
    ) -> None:
        self.directory = directory
        self.outbox = outbox
        self.alerts = alerts
        self.pacing = pacing or Pacing()
        self.place = place
        self.region_name = region_name
        self.price_per_segment = price_per_segment
        self._last_alert: dict[str, str] = {}  # phone -> alert id last texted (for "1" replies)
        self.covered = 0

    def handle(self, effects: Iterable[Effect], now: datetime) -> list[OutMessage]:
        queued: list[OutMessage] = []
        for effect in effects:
            if isinstance(effect, Transition) and effect.kind == "resolved":
                self.outbox.cancel_for_alert(effect.alert_id)
            elif isinstance(effect, Notify):
                queued += self._notify(effect, now)
        return queued

    def last_alert_for(self, phone: str) -> str | None:
        return self._last_alert.get(phone)

    def _notify(self, note: Notify, now: datetime) -> list[OutMessage]:
        alert = self.alerts.get(note.alert_id)
        if note.reason != "digest" and alert is None:
            log.warning("notification for unknown alert %s dropped", note.alert_id)
            return []
        if alert is not None and self._covered(alert.key, note):
            log.info("SMS for %s not sent: covered by a live related alert", alert.key)
            self.covered += 1
            return []
        farm, region = _scope(note.scope)
        out = []
        for recipient in self.directory.recipients(note.audience, farm, region):
            if alert is None:
                place = self.place(AlertKey(farm, None, "digest"), recipient.lang) if farm else ""
                text = render_digest(note.suppressed, place, recipient.lang)
            else:
                region_label = self.region_name(alert.key.region) if alert.key.region else None
                msg = MessageInput.from_finding(
                    alert.last, self.place(alert.key, recipient.lang), region_label
                )
                msg = replace(msg, severity=note.severity)
                text = render(msg, recipient.lang)
            kind = "digest" if alert is None else alert.key.type
            queued = self._enqueue(note, recipient, text, kind, now)
            if queued is not None:
                out.append(queued)
                if alert is not None:
                    self._last_alert[recipient.phone] = alert.id
        return out

    def _covered(self, key: AlertKey, note: Notify) -> bool:
        for cover, kinds in COVERED_BY.items():
            if key.type not in kinds:
                continue
            other = self.alerts.current(
                AlertKey(key.farm, key.house, cover, key.region, key.subject)
            )
            if other is not None and other.active and other.severity >= note.severity:
                return True
        return False

    def _enqueue(
        self, note: Notify, recipient: Recipient, text: str, kind: str, now: datetime
    ) -> OutMessage | None:
        key = f"{note.dedup_key}:{recipient.id}"
        if self.outbox.store.get(key) is not None:
            return None  # a replay of the same notification: already queued or sent
        planned = self.outbox.store.scheduled_for(recipient.id, now - timedelta(days=1))
        send_at, why = earliest_send(
            now, note.severity, planned, self.pacing, recipient.utc_offset_h
        )
        message = OutMessage(
            key=key,
            alert_id=note.alert_id,
            recipient=recipient.id,
            phone=recipient.phone,
            text=text,
            severity=note.severity,
            created_at=now,
            not_before=send_at,
            segments=(segments := count_segments(text).count),
            lang=recipient.lang,
            kind=kind,
            cost=round(segments * self.price_per_segment, 4),
        )
        if why:
            log.info("SMS %s deferred to %s (%s)", key, send_at.isoformat(), why)
        return message if self.outbox.enqueue(message) else None


def _scope(scope: str) -> tuple[str | None, str | None]:
    if scope.startswith("region:"):
        return None, scope.removeprefix("region:")
    return scope, None
