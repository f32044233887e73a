"""Request dependencies (FastAPI `Annotated` style): a connection, the caller and their scope."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import psycopg
from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from psycopg_pool import ConnectionPool

from cloud.api.errors import ApiError
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


def get_conn(request: Request) -> Iterator[psycopg.Connection]:
    """One pooled connection per request; committed when the handler returns, rolled back on error."""
    pool: ConnectionPool = request.app.state.pool
    with pool.connection() as conn:
        yield conn


Conn = Annotated[psycopg.Connection, Depends(get_conn)]
Settings = Annotated[CloudSettings, Depends(get_settings)]
Issuer = Annotated[TokenIssuer, Depends(get_issuer)]


def load_principal(conn: psycopg.Connection, user_id: int) -> Principal | None:
    row = conn.execute(
        "SELECT id, username, role, display_name, locale FROM users WHERE id = %s AND active", (user_id,)
    ).fetchone()
    return None if row is None else Principal(row[0], row[1], Role(row[2]), row[3], row[4])


def optional_principal(request: Request, conn: Conn, issuer: Issuer,
                       bearer: Annotated[str | None, Depends(oauth2)]) -> Principal | None:
    token = bearer or request.cookies.get(TOKEN_COOKIE)
    user_id = issuer.user_id(token) if token else None
    return None if user_id is None else load_principal(conn, user_id)


def current_principal(principal: Annotated[Principal | None, Depends(optional_principal)]) -> Principal:
    if principal is None:
        raise ApiError(401, "unauthorized", "log in first")
    return principal


CurrentUser = Annotated[Principal, Depends(current_principal)]


def current_scope(conn: Conn, principal: CurrentUser) -> Scope:
    return resolve(conn, principal)


CurrentScope = Annotated[Scope, Depends(current_scope)]
