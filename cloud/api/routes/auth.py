"""Login (OAuth2 password flow) and the caller's own record."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm

from cloud.api import audit
from cloud.api.deps import Conn, CurrentScope, Issuer
from cloud.api.errors import ApiError
from cloud.api.schemas import Token, UserOut
from cloud.api.security import verify_password
from cloud.api.services import users

router = APIRouter(tags=["auth"])


def authenticate(conn: Conn, issuer: Issuer, username: str, password: str) -> tuple[str, int]:
    row = conn.execute("SELECT id, password_hash, role FROM users WHERE username = %s AND active",
                       (username,)).fetchone()
    if row is None or not verify_password(row[1], password):
        raise ApiError(401, "bad_credentials", "wrong username or password")
    audit.record(conn, row[0], "login", "user", str(row[0]))
    return issuer.issue(row[0], row[2]), row[0]


@router.post("/auth/token", response_model=Token)
def login(form: Annotated[OAuth2PasswordRequestForm, Depends()], conn: Conn, issuer: Issuer) -> Token:
    token, _ = authenticate(conn, issuer, form.username, form.password)
    return Token(access_token=token)


@router.get("/me", response_model=UserOut)
def me(conn: Conn, scope: CurrentScope) -> UserOut:
    return UserOut(**users.get_user(conn, scope, scope.principal.user_id))
