"""Webhook replay refusal: an applied delivery is remembered (a digest of its signature, or of
its body where the provider does not sign) until its window ends; the same delivery again is
refused. Recorded in the transaction that applies it, so a delivery that failed to apply may be
retried, and two workers cannot both apply one delivery (the second insert waits, then conflicts).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import psycopg

from cloud.notify.inbound import REPLAY_WINDOW

# A signed timestamp older than REPLAY_WINDOW is refused as stale, so twice that covers both sides.
SIGNED_WINDOW = 2 * REPLAY_WINDOW
# Unsigned or untimed deliveries (Twilio, Aliyun) carry no time: remember them for two days.
UNTIMED_WINDOW = timedelta(hours=48)


def first_delivery(conn: psycopg.Connection, provider: str, material: bytes, window: timedelta,
                   now: datetime) -> bool:
    """True the first time this delivery is seen; False for a replay."""
    digest = hashlib.sha256(material).hexdigest()
    conn.execute("DELETE FROM webhook_replays WHERE expires_at < %s", (now,))
    cur = conn.execute("INSERT INTO webhook_replays (provider, digest, expires_at) VALUES (%s, %s, %s) "
                       "ON CONFLICT DO NOTHING", (provider, digest, now + window))
    return cur.rowcount == 1
