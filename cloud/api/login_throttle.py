"""Failed-login limits per account and per client address, counted in the database so they
hold across API workers.

Each key ("user:<digest of the username>", "addr:<ip>") counts failures inside a window; at
the limit the key is locked for `lockout`, and every login on it answers 429 with Retry-After,
right password or not. Unknown usernames are counted like known ones, so a lockout says
nothing about whether an account exists.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg

from cloud.api.errors import ApiError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ThrottlePolicy:
    per_account: int = 5
    per_address: int = 20
    window: timedelta = timedelta(minutes=15)
    lockout: timedelta = timedelta(minutes=15)

    def limit(self, key: str) -> int:
        return self.per_account if key.startswith("user:") else self.per_address


class LockedOut(ApiError):
    def __init__(self, retry_after: timedelta) -> None:
        seconds = max(1, math.ceil(retry_after.total_seconds()))
        super().__init__(429, "too_many_attempts", f"too many failed logins; try again in {seconds} s",
                         headers={"Retry-After": str(seconds)}, zh=f"失败次数太多，请 {seconds} 秒后再试")
        self.retry_after_s = seconds


def account_key(username: str) -> str:
    # A digest: unknown (possibly hostile, long) usernames are never stored as given.
    return "user:" + hashlib.sha256(username.encode("utf-8", "replace")).hexdigest()[:32]


def address_key(address: str | None) -> str:
    return f"addr:{(address or 'unknown')[:64]}"


class LoginThrottle:
    def __init__(self, policy: ThrottlePolicy | None = None) -> None:
        self.policy = policy or ThrottlePolicy()
        self.counters: Counter[str] = Counter()

    def check(self, conn: psycopg.Connection, keys: list[str], now: datetime) -> None:
        """Raise LockedOut while any key is locked."""
        row = conn.execute("SELECT max(locked_until) FROM login_failures WHERE key = ANY(%s) AND locked_until > %s",
                           (keys, now)).fetchone()
        if row is not None and row[0] is not None:
            self.counters["refused_locked"] += 1
            raise LockedOut(row[0] - now)

    def failed(self, conn: psycopg.Connection, keys: list[str], now: datetime) -> None:
        """Count one failure on each key, locking those that reach their limit. Committed at
        once: the failed request's own rollback must not undo the count."""
        window_start = now - self.policy.window
        # Stale keys go: under spraying the table holds one window's worth of keys, no more.
        conn.execute("DELETE FROM login_failures WHERE window_start < %s AND coalesce(locked_until, %s) <= %s",
                     (window_start, now, now))
        for key in keys:
            row = conn.execute(
                """INSERT INTO login_failures (key, window_start, failures) VALUES (%(key)s, %(now)s, 1)
                   ON CONFLICT (key) DO UPDATE SET
                     failures = CASE WHEN login_failures.window_start > %(since)s
                                     THEN login_failures.failures + 1 ELSE 1 END,
                     window_start = CASE WHEN login_failures.window_start > %(since)s
                                         THEN login_failures.window_start ELSE %(now)s END
                   RETURNING failures""",
                {"key": key, "now": now, "since": window_start}).fetchone()
            assert row is not None
            if row[0] >= self.policy.limit(key):
                conn.execute("UPDATE login_failures SET locked_until = %s, failures = 0, window_start = %s "
                             "WHERE key = %s", (now + self.policy.lockout, now, key))
                self.counters["locked_" + key.split(":", 1)[0]] += 1
                log.warning("login locked for %s after %s failures", key.split(":", 1)[0], row[0])
        self.counters["failed"] += 1
        conn.commit()

    def succeeded(self, conn: psycopg.Connection, account: str) -> None:
        # The address keeps its count: one good password must not reset a spraying client.
        conn.execute("DELETE FROM login_failures WHERE key = %s", (account,))
