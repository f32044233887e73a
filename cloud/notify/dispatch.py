"""From lifecycle effects to outbox messages: recipients, language, budget, pacing, idempotency keys.

Each notification is judged per person against their role's SMS budget (cloud/notify/budget.py):
sent now, held for the daily digest, or suppressed; the decision goes to the ledger, in the
same unit of work as the alert and the outbox row.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import datetime, time, timedelta

from cloud.alerts.lifecycle import Effect, Notify, Transition
from cloud.alerts.messages import (
    MessageInput,
    place_label,
    render,
    render_daily,
    render_digest,
    render_line,
)
from cloud.alerts.model import AlertKey, Severity
from cloud.alerts.policy import COVERED_BY, Audience
from cloud.alerts.store import Alert, AlertStore
from cloud.notify.budget import (
    DEFAULT_BUDGETS,
    REMEMBER,
    TRENDS,
    Action,
    Decision,
    RoleBudget,
    condition,
    decide,
    digest_cutoff,
    digest_worth_sending,
    local_day,
)
from cloud.notify.ledger import BudgetEntry, BudgetLedger, MemoryLedger
from cloud.notify.outbox import REPLY_WINDOW, Outbox, OutMessage
from cloud.notify.pacing import Pacing, earliest_send
from cloud.notify.recipients import Directory, Recipient
from cloud.notify.segments import count_segments
from cloud.notify.templates import RenderedSms, render_alert, render_digest_sms, reply_code

DEFAULT_SIGN = "富慧养"  # the SMS signature (2-12 characters, approved with the provider)

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
        ledger: BudgetLedger | None = None,
        budgets: Mapping[Audience, RoleBudget] = DEFAULT_BUDGETS,
        utc_offset_h: float = 8.0,  # the programme's local time: budget days and digest hour
        sign_name: str = DEFAULT_SIGN,
    ) -> None:
        self.directory = directory
        self.outbox = outbox
        self.alerts = alerts
        self.pacing = pacing or Pacing()
        self.place = place
        self.region_name = region_name
        self.price_per_segment = price_per_segment
        self.ledger: BudgetLedger = ledger if ledger is not None else MemoryLedger()
        self.budgets = budgets
        self.utc_offset_h = utc_offset_h
        self.sign_name = sign_name
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
        farm, region = _scope(note.scope)
        recipients = self.directory.recipients(note.audience, farm, region)
        covered = alert is not None and self._covered(alert.key, note)
        if covered:
            log.info("SMS for %s not sent: covered by a live related alert", alert.key if alert else "-")
            self.covered += 1
        out = []
        for recipient in recipients:
            key = f"{note.dedup_key}:{recipient.id}"
            if self.ledger.get(key) is not None or self.outbox.store.get(key) is not None:
                continue  # a replay of the same notification: already decided
            code = self._reply_code(alert, recipient, now) if alert is not None else None
            text, line, same, kind, sms = self._texts(note, alert, recipient, farm, code)
            if covered:
                decision = Decision(Action.SUPPRESSED, "covered by a live suspected-disease alert")
            else:
                decision = self._decide(note, recipient, same, kind, now)
            self.ledger.add(
                BudgetEntry(key, recipient.id, recipient.phone, recipient.audience, note.alert_id,
                            same, kind, note.severity, decision.action, decision.reason, now,
                            line, recipient.lang, decision.repeat, scope=note.scope)
            )
            if decision.action is not Action.SENT:
                log.info("SMS %s %s: %s", key, decision.action.value, decision.reason)
                continue
            queued = self._enqueue(note, recipient, text, kind, now, sms)
            if queued is not None:
                out.append(queued)
                if alert is not None:
                    self._last_alert[recipient.phone] = alert.id
        return out

    def _reply_code(self, alert: Alert, recipient: Recipient, now: datetime) -> str:
        """The alert's code for this phone: the one it already has, or a free one."""
        in_use = self.outbox.store.reply_codes(recipient.phone, now - REPLY_WINDOW)
        for code, alert_id in in_use.items():
            if alert_id == alert.id:
                return code
        return reply_code(alert.id, in_use)

    def _texts(
        self, note: Notify, alert: Alert | None, recipient: Recipient, farm: str | None,
        code: str | None,
    ) -> tuple[str, str, str, str, RenderedSms]:
        """(SMS text, digest line, condition, kind, template call) for one person.

        The text is the approved template filled in (zh-CN); an English reader gets the English
        text through gateways that take free text, and the template on mainland providers.
        """
        if alert is None:  # the engine's storm digest
            place = self.place(AlertKey(farm, None, "digest"), recipient.lang) if farm else ""
            text = render_digest(note.suppressed, place, recipient.lang)
            sms = render_digest_sms(note.suppressed, place, self.sign_name)
            return text, text.split("】", 1)[-1], f"storm:{note.scope}", "digest", sms
        region_label = self.region_name(alert.key.region) if alert.key.region else None
        msg = MessageInput.from_finding(alert.last, self.place(alert.key, recipient.lang), region_label)
        msg = replace(msg, severity=note.severity)
        same = condition(alert.key, recipient.audience)
        zh = msg if recipient.lang.startswith("zh") else replace(
            msg, place=self.place(alert.key, "zh-CN"), region=region_label)
        sms = render_alert(zh, code or "0000", self.sign_name)
        text = _localised(render(msg, recipient.lang, reply_code=code), sms, recipient)
        return text, render_line(msg, recipient.lang), same, alert.key.type, sms

    def _decide(
        self, note: Notify, recipient: Recipient, same: str, kind: str, now: datetime
    ) -> Decision:
        day_start = digest_cutoff(now, _MIDNIGHT, self.utc_offset_h)
        return decide(
            recipient.audience,
            note.severity,
            now,
            self.ledger.history(recipient.id, same, now - REMEMBER),
            self.ledger.sent_at_once(recipient.id, day_start),
            self.budgets,
            today=kind not in TRENDS,
            kind=kind,
        )

    def send_digests(self, now: datetime) -> list[OutMessage]:
        """Each person's held lines as one SMS once their digest hour has passed.

        A digest of repeats alone is not sent: its lines are marked suppressed (the console
        still shows them). Idempotent: the digest's key is the person and the local day.
        """
        by_person: dict[str, list[BudgetEntry]] = {}
        for entry in self.ledger.undigested(now):
            by_person.setdefault(entry.recipient, []).append(entry)
        out = []
        for person, entries in sorted(by_person.items()):
            cutoff = digest_cutoff(now, self.budgets[entries[0].role], self.utc_offset_h)
            due = [e for e in entries if e.at < cutoff]
            if not due:
                continue
            digest = f"digest:{person}:{local_day(cutoff, self.utc_offset_h):%Y%m%d}"
            keys = [e.key for e in due]
            if not digest_worth_sending([e.repeat for e in due]):
                self.ledger.close_digest(keys, digest, Action.SUPPRESSED, "repeat only: no digest SMS")
                continue
            self.ledger.close_digest(keys, digest, Action.HELD, None)
            first = due[0]
            lines = _distinct(e.line for e in due)
            sms = render_digest_sms(len(lines), _place_of(first.line), self.sign_name)
            # The day's lines for gateways that take free text; mainland providers send the
            # approved digest template instead (the outbox records what went out).
            text = render_daily(lines, first.lang)
            queued = self._enqueue_digest(digest, first, text, max(e.severity for e in due), now, sms)
            if queued is not None:
                out.append(queued)
        return out

    def _enqueue_digest(
        self, key: str, entry: BudgetEntry, text: str, severity: Severity, now: datetime,
        sms: RenderedSms,
    ) -> OutMessage | None:
        if self.outbox.store.get(key) is not None:
            return None
        planned = self.outbox.store.scheduled_for(entry.recipient, now - timedelta(days=1))
        # Pacing as any warning: a digest due late in the evening waits for the morning.
        send_at, _ = earliest_send(now, Severity.WARNING, planned, self.pacing, self.utc_offset_h)
        message = OutMessage(
            key=key,
            alert_id=key,
            recipient=entry.recipient,
            phone=entry.phone,
            text=text,
            severity=min(severity, Severity.WARNING),  # a digest never jumps the critical queue
            created_at=now,
            not_before=send_at,
            segments=(segments := count_segments(text).count),
            lang=entry.lang,
            kind="digest",
            cost=round(segments * self.price_per_segment, 4),
            template=sms.template,
            params=sms.params,
        )
        return message if self.outbox.enqueue(message) else None

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
        self, note: Notify, recipient: Recipient, text: str, kind: str, now: datetime,
        sms: RenderedSms,
    ) -> OutMessage | None:
        key = f"{note.dedup_key}:{recipient.id}"
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
            template=sms.template,
            params=sms.params,
            reply_code=sms.reply_code,
        )
        if why:
            log.info("SMS %s deferred to %s (%s)", key, send_at.isoformat(), why)
        return message if self.outbox.enqueue(message) else None


_MIDNIGHT = RoleBudget(Severity.CRITICAL, 0, time(0, 0))  # "today" for the per-day count


def _localised(text: str, sms: RenderedSms, recipient: Recipient) -> str:
    return sms.text if recipient.lang.startswith("zh") else text


def _place_of(line: str) -> str:
    """The place a digest line names ("李家坪鸡场2号舍：舍温…" -> "李家坪鸡场2号舍")."""
    for sep in ("：", ": "):
        if sep in line:
            return line.split(sep, 1)[0]
    return ""


def _distinct(lines: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(lines))


def _scope(scope: str) -> tuple[str | None, str | None]:
    if scope.startswith("region:"):
        return None, scope.removeprefix("region:")
    return scope, None
