"""Server-side sessions: every token names a row in `sessions`; revoking the row kills the token.

Logout revokes one session, a password change all of the user's, an administrator may revoke
a user's sessions; deactivating a user stops their tokens as well (deps checks `active`).
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta

import psycopg

from cloud.api.security import TokenIssuer

log = logging.getLogger(__name__)
KEEP_EXPIRED = timedelta(days=1)  # expired rows are swept this long after their end


def open_session(conn: psycopg.Connection, issuer: TokenIssuer, user_id: int, role: str, now: datetime) -> str:
    """Record a new session and return its token."""
    session_id = secrets.token_urlsafe(24)
    conn.execute("DELETE FROM sessions WHERE expires_at < %s", (now - KEEP_EXPIRED,))
    conn.execute("INSERT INTO sessions (id, user_id, created_at, expires_at) VALUES (%s, %s, %s, %s)",
                 (session_id, user_id, now, now + issuer.ttl))
    return issuer.issue(user_id, role, session_id, now)


def revoke(conn: psycopg.Connection, session_id: str, reason: str, now: datetime) -> bool:
    cur = conn.execute("UPDATE sessions SET revoked_at = %s, revoked_reason = %s "
                       "WHERE id = %s AND revoked_at IS NULL", (now, reason, session_id))
    return cur.rowcount == 1


def revoke_all(conn: psycopg.Connection, user_id: int, reason: str, now: datetime) -> int:
    cur = conn.execute("UPDATE sessions SET revoked_at = %s, revoked_reason = %s "
                       "WHERE user_id = %s AND revoked_at IS NULL", (now, reason, user_id))
    if cur.rowcount:
        log.info("revoked %s session(s) of user %s: %s", cur.rowcount, user_id, reason)
    return cur.rowcount
