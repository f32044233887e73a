"""Request dependencies (FastAPI `Annotated` style): a connection, the caller and their scope."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Annotated

import psycopg
from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from psycopg_pool import ConnectionPool

from cloud.api.errors import ApiError
from cloud.api.login_throttle import LoginThrottle
from cloud.api.scope import Principal, Role, Scope, resolve
from cloud.api.security import TokenIssuer
from cloud.settings import CloudSettings

TOKEN_COOKIE = "fhy_token"
oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def get_settings(request: Request) -> CloudSettings:
    settings: CloudSettings = request.app.state.settings
    return settings


def get_issuer(request: Request) -> TokenIssuer:
    issuer: TokenIssuer = request.app.state.issuer
    return issuer


def get_throttle(request: Request) -> LoginThrottle:
    throttle: LoginThrottle = request.app.state.login_throttle
    return throttle


def get_now(request: Request) -> datetime:
    """Wall-clock time for sessions and lockouts (tests replace `app.state.auth_clock`)."""
    clock: Callable[[], datetime] = request.app.state.auth_clock
    return clock()


def get_conn(request: Request) -> Iterator[psycopg.Connection]:
    """One pooled connection per request; committed when the handler returns, rolled back on error."""
    pool: ConnectionPool = request.app.state.pool
    with pool.connection() as conn:
        yield conn


# scope="function": committed when the handler returns, before the response is sent. With the
# default ("request") the commit came after the response, so a browser following a form's
# redirect at once could read the page before the change it had just made.
Conn = Annotated[psycopg.Connection, Depends(get_conn, scope="function")]
Settings = Annotated[CloudSettings, Depends(get_settings)]
Issuer = Annotated[TokenIssuer, Depends(get_issuer)]
Throttle = Annotated[LoginThrottle, Depends(get_throttle)]
Now = Annotated[datetime, Depends(get_now)]


def load_principal(conn: psycopg.Connection, user_id: int, session_id: str, now: datetime) -> Principal | None:
    """The active user of a live (unrevoked, unexpired) session."""
    row = conn.execute(
        """SELECT u.id, u.username, u.role, u.display_name, u.locale FROM users u
           JOIN sessions s ON s.user_id = u.id
           WHERE u.id = %s AND u.active AND s.id = %s AND s.revoked_at IS NULL AND s.expires_at > %s""",
        (user_id, session_id, now),
    ).fetchone()
    return None if row is None else Principal(row[0], row[1], Role(row[2]), row[3], row[4])


def optional_principal(request: Request, conn: Conn, issuer: Issuer, now: Now,
                       bearer: Annotated[str | None, Depends(oauth2)]) -> Principal | None:
    token = bearer or request.cookies.get(TOKEN_COOKIE)
    claims = issuer.claims(token) if token else None
    if claims is None:
        return None
    principal = load_principal(conn, claims.user_id, claims.session_id, now)
    if principal is not None:
        request.state.session_id = claims.session_id  # logout revokes this one
    return principal


OptionalUser = Annotated[Principal | None, Depends(optional_principal)]


def current_principal(principal: Annotated[Principal | None, Depends(optional_principal)]) -> Principal:
    if principal is None:
        raise ApiError(401, "unauthorized", "log in first")
    return principal


CurrentUser = Annotated[Principal, Depends(current_principal)]


def current_scope(conn: Conn, principal: CurrentUser) -> Scope:
    return resolve(conn, principal)


CurrentScope = Annotated[Scope, Depends(current_scope)]
