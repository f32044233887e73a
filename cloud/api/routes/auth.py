"""Login (OAuth2 password flow), logout, and the caller's own record, password and phone."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import OAuth2PasswordRequestForm

from cloud.api import audit, sessions
from cloud.api.deps import Conn, CurrentScope, CurrentUser, Issuer, Now, Throttle
from cloud.api.errors import ApiError
from cloud.api.login_throttle import LoginThrottle, account_key, address_key
from cloud.api.schemas import (
    PasswordChange,
    PhoneChallengeOut,
    PhoneChange,
    PhoneCode,
    SmsCodeRequest,
    SmsSignIn,
    Token,
    UserOut,
)
from cloud.api.security import TokenIssuer, verify_password
from cloud.api.services import accounts, phone_login, users

router = APIRouter(tags=["auth"])


def authenticate(conn: Conn, issuer: TokenIssuer, throttle: LoginThrottle, now: Now, client: str | None,
                 username: str, password: str) -> tuple[str, int]:
    """A session token for good credentials; 401 otherwise, 429 while the account or address is locked."""
    keys = [account_key(username), address_key(client)]
    throttle.check(conn, keys, now)
    row = conn.execute("SELECT id, password_hash, role FROM users WHERE username = %s AND active",
                       (username,)).fetchone()
    # Unknown users verify against a dummy hash: the same argon2 work, the same answer.
    if not verify_password(None if row is None else row[1], password) or row is None:
        throttle.failed(conn, keys, now)
        raise ApiError(401, "bad_credentials", "wrong username or password")
    throttle.succeeded(conn, keys[0])
    audit.record(conn, row[0], "login", "user", str(row[0]))
    return sessions.open_session(conn, issuer, row[0], row[2], now), row[0]


def client_address(request: Request) -> str | None:
    # Behind a proxy, uvicorn's --proxy-headers/--forwarded-allow-ips put the real client here.
    return request.client.host if request.client else None


@router.post("/auth/token", response_model=Token, responses={429: {"description": "Too many failed logins"}})
def login(request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()], conn: Conn, issuer: Issuer,
          throttle: Throttle, now: Now) -> Token:
    token, _ = authenticate(conn, issuer, throttle, now, client_address(request), form.username, form.password)
    return Token(access_token=token)


@router.post("/auth/sms-code", status_code=202, responses={429: {"description": "Asked too often"}})
def request_sms_code(body: SmsCodeRequest, conn: Conn, now: Now) -> dict[str, str]:
    """Farmers: text a one-time sign-in code to this number (the answer is the same for any number)."""
    phone_login.send_code(conn, body.phone, now)
    return {"status": "sent_if_registered"}


@router.post("/auth/sms-token", response_model=Token, responses={429: {"description": "Too many wrong codes"}})
def sms_sign_in(request: Request, body: SmsSignIn, conn: Conn, issuer: Issuer, throttle: Throttle,
                now: Now) -> Token:
    token, _ = phone_login.sign_in(conn, issuer, throttle, now, client_address(request), body.phone, body.code)
    return Token(access_token=token)


@router.post("/auth/logout", status_code=204)
def logout(request: Request, conn: Conn, principal: CurrentUser, now: Now) -> Response:
    """Revoke the session of the token used for this request."""
    sessions.revoke(conn, request.state.session_id, "logout", now)
    audit.record(conn, principal.user_id, "logout", "user", str(principal.user_id))
    return Response(status_code=204)


@router.get("/me", response_model=UserOut)
def me(conn: Conn, scope: CurrentScope) -> UserOut:
    return UserOut(**users.get_user(conn, scope, scope.principal.user_id))


@router.post("/me/password", status_code=204)
def change_password(body: PasswordChange, conn: Conn, principal: CurrentUser, throttle: Throttle,
                    now: Now) -> Response:
    """Needs the current password; every session of the user ends (log in again)."""
    accounts.change_own_password(conn, throttle, principal, body.current_password, body.new_password, now)
    return Response(status_code=204)


@router.post("/me/phone", response_model=PhoneChallengeOut, status_code=202)
def request_phone_change(body: PhoneChange, conn: Conn, principal: CurrentUser, now: Now) -> PhoneChallengeOut:
    """Text a code to the new number; the phone changes only once the code is confirmed."""
    return PhoneChallengeOut(**accounts.start_phone_change(conn, principal, body.phone, now))


@router.post("/me/phone/confirm", response_model=UserOut)
def confirm_phone_change(body: PhoneCode, conn: Conn, scope: CurrentScope, now: Now) -> UserOut:
    accounts.confirm_phone_change(conn, scope.principal, body.code, now)
    return UserOut(**users.get_user(conn, scope, scope.principal.user_id))
