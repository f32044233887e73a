"""A user's own credentials: the password (needs the current one) and the phone (needs an SMS
code sent to the new number through the notification outbox)."""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

import psycopg

from cloud.alerts.model import Severity
from cloud.api import audit, sessions
from cloud.api.errors import ApiError
from cloud.api.login_throttle import LoginThrottle, account_key
from cloud.api.scope import Principal
from cloud.api.security import hash_password, verify_password
from cloud.notify.outbox import OutMessage
from cloud.notify.outbox_pg import PgOutboxStore

log = logging.getLogger(__name__)
CODE_TTL = timedelta(minutes=10)
MAX_CODE_ATTEMPTS = 5
RESEND_AFTER = timedelta(minutes=1)  # one code a minute: the SMS costs money and annoys
MAX_CODES_PER_DAY = 10
CODE_TEXT = {"zh-CN": "【富惠养】您的手机验证码是 {code}，10 分钟内有效。如非本人操作请忽略。",
             "en": "Fuhuiyang: your phone verification code is {code}, valid for 10 minutes."}


def change_own_password(conn: psycopg.Connection, throttle: LoginThrottle, principal: Principal,
                        current: str, new: str, now: datetime) -> None:
    row = conn.execute("SELECT username, password_hash FROM users WHERE id = %s", (principal.user_id,)).fetchone()
    assert row is not None
    key = account_key(row[0])
    throttle.check(conn, [key], now)
    # A stolen session cannot guess the password either: wrong guesses count towards the lockout.
    if not verify_password(row[1], current):
        throttle.failed(conn, [key], now)
        raise ApiError(403, "wrong_password", "the current password is wrong")
    set_password(conn, principal.user_id, new, principal.user_id, now)


def set_password(conn: psycopg.Connection, user_id: int, new: str, by: int, now: datetime) -> None:
    """Store a new password and end every session of the user."""
    conn.execute("UPDATE users SET password_hash = %s WHERE id = %s", (hash_password(new), user_id))
    revoked = sessions.revoke_all(conn, user_id, "password_changed", now)
    audit.record(conn, by, "password_change", "user", str(user_id), {"sessions_revoked": revoked})


def _code_hash(user_id: int, phone: str, code: str) -> str:
    # argon2 would be overkill for a 6-digit code that allows 5 tries; bind it to user and phone.
    return hash_password(f"{user_id}:{phone}:{code}")


def start_phone_change(conn: psycopg.Connection, principal: Principal, phone: str, now: datetime
                       ) -> dict[str, Any]:
    pending = conn.execute("SELECT created_at FROM phone_verifications WHERE user_id = %s",
                           (principal.user_id,)).fetchone()
    if pending is not None and now - pending[0] < RESEND_AFTER:
        wait = int((RESEND_AFTER - (now - pending[0])).total_seconds()) + 1
        raise ApiError(429, "too_many_attempts", f"a code was sent just now; ask again in {wait} s",
                       headers={"Retry-After": str(wait)})
    sent_today = conn.execute(
        "SELECT count(*) FROM audit_log WHERE user_id = %s AND action = 'phone_change_requested' AND at > %s",
        (principal.user_id, now - timedelta(days=1))).fetchone()
    if sent_today is not None and sent_today[0] >= MAX_CODES_PER_DAY:
        raise ApiError(429, "too_many_attempts", "too many codes today; try again tomorrow",
                       headers={"Retry-After": "86400"})
    code = f"{secrets.randbelow(10**6):06d}"
    conn.execute(
        """INSERT INTO phone_verifications (user_id, phone, code_hash, attempts, created_at, expires_at)
           VALUES (%s, %s, %s, 0, %s, %s)
           ON CONFLICT (user_id) DO UPDATE SET phone = EXCLUDED.phone, code_hash = EXCLUDED.code_hash,
             attempts = 0, created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at""",
        (principal.user_id, phone, _code_hash(principal.user_id, phone, code), now, now + CODE_TTL))
    lang = principal.locale if principal.locale in CODE_TEXT else "zh-CN"
    # The code goes to the NEW number only: whoever holds the session must also hold that phone.
    # Not addressed to the user id: it must not use up the user's alert pacing.
    PgOutboxStore(conn).add(OutMessage(
        key=f"phone-verify:{principal.user_id}:{secrets.token_hex(8)}", alert_id="", recipient=f"verify:{phone}",
        phone=phone, text=CODE_TEXT[lang].format(code=code), severity=Severity.CRITICAL,
        created_at=now, not_before=now, lang=lang, kind="phone_verify"))
    audit.record(conn, principal.user_id, "phone_change_requested", "user", str(principal.user_id),
                 {"phone_last4": phone[-4:]})
    return {"phone": phone, "expires_at": now + CODE_TTL, "attempts_left": MAX_CODE_ATTEMPTS}


def confirm_phone_change(conn: psycopg.Connection, principal: Principal, code: str, now: datetime) -> None:
    row = conn.execute("SELECT phone, code_hash, attempts, expires_at FROM phone_verifications "
                       "WHERE user_id = %s FOR UPDATE", (principal.user_id,)).fetchone()
    if row is None or row[3] <= now or row[2] >= MAX_CODE_ATTEMPTS:
        if row is not None:
            conn.execute("DELETE FROM phone_verifications WHERE user_id = %s", (principal.user_id,))
            conn.commit()
        raise ApiError(409, "no_pending_change", "no phone change is pending (expired or too many tries); "
                       "request a new code")
    phone, code_hash, attempts = row[0], row[1], row[2]
    if not verify_password(code_hash, f"{principal.user_id}:{phone}:{code}"):
        conn.execute("UPDATE phone_verifications SET attempts = attempts + 1 WHERE user_id = %s",
                     (principal.user_id,))
        conn.commit()  # the failed request rolls back; the attempt must still count
        left = MAX_CODE_ATTEMPTS - attempts - 1
        raise ApiError(422, "wrong_code", f"the code is wrong; {left} attempt(s) left")
    conn.execute("DELETE FROM phone_verifications WHERE user_id = %s", (principal.user_id,))
    conn.execute("UPDATE users SET phone = %s WHERE id = %s", (phone, principal.user_id))
    audit.record(conn, principal.user_id, "phone_changed", "user", str(principal.user_id),
                 {"phone_last4": phone[-4:]})
    log.info("user %s confirmed a new phone", principal.user_id)
