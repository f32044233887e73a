"""What the SMS budget decided, per person: sent, held for the digest, or suppressed, and why.

The ledger is the budget's memory (who was told what, and when) and what the console shows.
An entry's key is the notification's idempotency key plus the person: recording the same
decision twice is a no-op, so a replayed cycle decides nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from cloud.alerts.model import Severity
from cloud.alerts.policy import Audience
from cloud.notify.budget import LOCAL_KEY_PREFIX, Action, Told


@dataclass(frozen=True)
class BudgetEntry:
    key: str
    recipient: str
    phone: str
    role: Audience
    alert_id: str
    condition: str  # farm/house/type: what "the same condition" means
    kind: str
    severity: Severity
    action: Action
    reason: str
    at: datetime
    line: str  # the condition in a few words, for the digest and the console
    lang: str = "zh-CN"
    repeat: bool = False
    digest: str | None = None  # the digest this held line went into (or was dropped from)
    scope: str = ""  # whose alert: the farm id, or "region:<code>" (who may see this entry)


class BudgetLedger(Protocol):
    def add(self, entry: BudgetEntry) -> bool:
        """Record unless the key exists (then False)."""
        ...

    def get(self, key: str) -> BudgetEntry | None: ...

    def history(self, recipient: str, condition: str, since: datetime) -> list[Told]: ...

    def sent_at_once(self, recipient: str, since: datetime) -> int:
        """Non-critical SMS this person got at once since `since`."""
        ...

    def undigested(self, before: datetime) -> list[BudgetEntry]:
        """Held lines not yet in a digest, recorded before `before`, oldest first."""
        ...

    def close_digest(self, keys: Sequence[str], digest: str, action: Action, reason: str | None) -> None:
        """These lines went into `digest`; `action`/`reason` replace theirs when reason is given."""
        ...

    def recent(self, since: datetime, recipients: Sequence[str] | None = None) -> list[BudgetEntry]: ...


class MemoryLedger:
    def __init__(self) -> None:
        self.entries: dict[str, BudgetEntry] = {}

    def add(self, entry: BudgetEntry) -> bool:
        if entry.key in self.entries:
            return False
        self.entries[entry.key] = entry
        return True

    def get(self, key: str) -> BudgetEntry | None:
        return self.entries.get(key)

    def history(self, recipient: str, condition: str, since: datetime) -> list[Told]:
        return [
            Told(e.at, e.severity, e.key.startswith(LOCAL_KEY_PREFIX))
            for e in self.entries.values()
            if e.recipient == recipient and e.condition == condition and e.at >= since
        ]

    def sent_at_once(self, recipient: str, since: datetime) -> int:
        return sum(
            1
            for e in self.entries.values()
            if e.recipient == recipient
            and e.action is Action.SENT
            and e.severity < Severity.CRITICAL
            and e.at >= since
        )

    def undigested(self, before: datetime) -> list[BudgetEntry]:
        held = [
            e
            for e in self.entries.values()
            if e.action is Action.HELD and e.digest is None and e.at < before
        ]
        return sorted(held, key=lambda e: (e.at, e.key))

    def close_digest(self, keys: Sequence[str], digest: str, action: Action, reason: str | None) -> None:
        for key in keys:
            e = self.entries[key]
            self.entries[key] = replace(
                e, digest=digest, action=action, reason=reason if reason is not None else e.reason
            )

    def recent(self, since: datetime, recipients: Sequence[str] | None = None) -> list[BudgetEntry]:
        return sorted(
            (
                e
                for e in self.entries.values()
                if e.at >= since and (recipients is None or e.recipient in recipients)
            ),
            key=lambda e: (e.at, e.key),
            reverse=True,
        )
