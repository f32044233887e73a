"""Password hashing (argon2id) and API tokens (JWT, HS256, carrying a server-side session id)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
ALGORITHM = "HS256"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@cache
def _dummy_hash() -> str:
    # Hashed once, on the first unknown user, with the same parameters as real hashes.
    return _hasher.hash("no user has this password")


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches. With no hash (unknown user) a dummy hash is verified
    instead, so unknown and known users cost the same argon2 work and answer alike."""
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True)
class TokenClaims:
    user_id: int
    session_id: str


@dataclass(frozen=True)
class TokenIssuer:
    secret: str
    ttl: timedelta

    def issue(self, user_id: int, role: str, session_id: str, now: datetime | None = None) -> str:
        now = now or datetime.now(UTC)
        claims = {"sub": str(user_id), "role": role, "jti": session_id, "iat": now, "exp": now + self.ttl}
        return jwt.encode(claims, self.secret, algorithm=ALGORITHM)

    def claims(self, token: str) -> TokenClaims | None:
        """The user and session of a valid, unexpired token; None otherwise (the session's
        liveness is the database's to say: see cloud.api.sessions)."""
        try:
            claims = jwt.decode(token, self.secret, algorithms=[ALGORITHM],
                                options={"require": ["exp", "sub", "jti"]})
            session_id = claims["jti"]
            if not isinstance(session_id, str) or not 0 < len(session_id) <= 64:
                return None
            return TokenClaims(int(claims["sub"]), session_id)
        except (jwt.PyJWTError, ValueError, TypeError):
            return None
