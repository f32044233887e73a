"""Password hashing (argon2id) and API tokens (JWT, HS256)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
ALGORITHM = "HS256"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class TokenIssuer:
    secret: str
    ttl: timedelta

    def issue(self, user_id: int, role: str, now: datetime | None = None) -> str:
        now = now or datetime.now(UTC)
        claims = {"sub": str(user_id), "role": role, "iat": now, "exp": now + self.ttl}
        return jwt.encode(claims, self.secret, algorithm=ALGORITHM)

    def user_id(self, token: str) -> int | None:
        """The user id of a valid, unexpired token; None otherwise."""
        try:
            claims = jwt.decode(token, self.secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]})
            return int(claims["sub"])
        except (jwt.PyJWTError, ValueError):
            return None
