"""Farmers sign in with a one-time code texted to their phone; staff keep passwords.

Asking for a code answers the same whether or not the number belongs to a farmer (no account
enumeration), one code a minute and ten a day per number. A code lives ten minutes and allows
five tries; wrong codes also count towards the login throttle, per number and per address.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta

import psycopg

from cloud.alerts.model import Severity
from cloud.api import audit, sessions
from cloud.api.errors import ApiError, invalid
from cloud.api.login_throttle import LoginThrottle, account_key, address_key
from cloud.api.security import TokenIssuer, hash_password, verify_password
from cloud.notify.outbox import OutMessage
from cloud.notify.outbox_pg import PgOutboxStore

CODE_TTL = timedelta(minutes=10)
RESEND_AFTER = timedelta(minutes=1)
MAX_CODES_PER_DAY = 10
MAX_ATTEMPTS = 5
TEXT = {"zh-CN": "【富慧养】登录验证码 {code}，10分钟内有效。请勿告诉他人。",
        "en": "Fuhuiyang: your sign-in code is {code}, valid for 10 minutes. Tell no one."}


def digits_of(phone: str) -> str:
    digits = re.sub(r"\D", "", phone)
    if not 6 <= len(digits) <= 20:
        raise invalid("请输入正确的手机号", "enter a phone number")
    return digits


def send_code(conn: psycopg.Connection, phone: str, now: datetime) -> None:
    """Text a sign-in code to the farmer with this number, if there is one."""
    digits = digits_of(phone)
    row = conn.execute("SELECT created_at, sent_today, day FROM login_codes WHERE phone = %s FOR UPDATE",
                       (digits,)).fetchone()
    today = now.date()
    sent = row[1] if row is not None and row[2] == today else 0
    if row is not None and now - row[0] < RESEND_AFTER:
        wait = int((RESEND_AFTER - (now - row[0])).total_seconds()) + 1
        raise ApiError(429, "too_many_attempts", f"a code was sent just now; ask again in {wait} s",
                       headers={"Retry-After": str(wait)}, zh=f"验证码刚发出，请 {wait} 秒后再试")
    if sent >= MAX_CODES_PER_DAY:
        raise ApiError(429, "too_many_attempts", "too many codes today; try again tomorrow",
                       headers={"Retry-After": "86400"}, zh="今天发送的验证码太多了，请明天再试")
    farmer = conn.execute("SELECT id, locale FROM users WHERE role = 'farmer' AND active AND "
                          "regexp_replace(coalesce(phone, ''), '\\D', '', 'g') = %s ORDER BY id LIMIT 1",
                          (digits,)).fetchone()
    code = f"{secrets.randbelow(10**6):06d}"
    user_id = None if farmer is None else int(farmer[0])
    conn.execute(
        """INSERT INTO login_codes (phone, user_id, code_hash, attempts, sent_today, day, created_at, expires_at)
           VALUES (%s, %s, %s, 0, %s, %s, %s, %s)
           ON CONFLICT (phone) DO UPDATE SET user_id = EXCLUDED.user_id, code_hash = EXCLUDED.code_hash,
             attempts = 0, sent_today = EXCLUDED.sent_today, day = EXCLUDED.day,
             created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at""",
        (digits, user_id, None if user_id is None else hash_password(f"{digits}:{code}"), sent + 1, today, now,
         now + CODE_TTL))
    if farmer is None:
        return
    lang = farmer[1] if farmer[1] in TEXT else "zh-CN"
    PgOutboxStore(conn).add(OutMessage(
        key=f"login-code:{user_id}:{secrets.token_hex(8)}", alert_id="", recipient=f"login:{digits}",
        phone=phone, text=TEXT[lang].format(code=code), severity=Severity.CRITICAL, created_at=now,
        not_before=now, lang=lang, kind="login_code"))
    audit.record(conn, user_id, "login_code_sent", "user", str(user_id), {"phone_last4": digits[-4:]})


def sign_in(conn: psycopg.Connection, issuer: TokenIssuer, throttle: LoginThrottle, now: datetime,
            client: str | None, phone: str, code: str) -> tuple[str, int]:
    """A session token for the right code; 401 otherwise, 429 while the number or address is locked."""
    digits = digits_of(phone)
    keys = [account_key(f"phone:{digits}"), address_key(client)]
    throttle.check(conn, keys, now)
    row = conn.execute("SELECT user_id, code_hash, attempts, expires_at FROM login_codes WHERE phone = %s "
                       "FOR UPDATE", (digits,)).fetchone()
    usable = row is not None and row[0] is not None and row[3] > now and row[2] < MAX_ATTEMPTS
    if not usable or not verify_password(row[1] if row else None, f"{digits}:{code}"):
        if row is not None:
            conn.execute("UPDATE login_codes SET attempts = attempts + 1 WHERE phone = %s", (digits,))
        throttle.failed(conn, keys, now)  # commits, so the counts survive the failed request
        raise ApiError(401, "bad_code", "wrong or expired code", zh="验证码不对或已过期")
    assert row is not None
    conn.execute("UPDATE login_codes SET code_hash = NULL, expires_at = %s WHERE phone = %s", (now, digits))
    throttle.succeeded(conn, keys[0])
    user = conn.execute("SELECT id, role FROM users WHERE id = %s AND active", (row[0],)).fetchone()
    if user is None:
        raise ApiError(401, "bad_code", "wrong or expired code", zh="验证码不对或已过期")
    audit.record(conn, user[0], "login", "user", str(user[0]), {"by": "sms_code"})
    return sessions.open_session(conn, issuer, user[0], user[1], now), int(user[0])
