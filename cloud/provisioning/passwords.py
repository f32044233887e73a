"""Broker password hashes: what ``mosquitto_passwd`` writes for Mosquitto 2.

PBKDF2-HMAC-SHA512 with a 12-byte salt, ``$7$<iterations>$<base64 salt>$<base64 hash>``. The
dynamic-security plugin keeps the same three parts (salt, 64-byte hash, iterations) as separate
JSON fields, so one stored hash serves both broker backends.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

ITERATIONS = 101  # mosquitto_passwd's default; the passwords themselves are 192-bit random
SALT_BYTES = 12  # the dynamic-security plugin accepts exactly this salt length
HASH_BYTES = 64  # SHA-512


def hash_password(password: str, *, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    salt = salt if salt is not None else secrets.token_bytes(SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


@dataclass(frozen=True)
class HashParts:
    iterations: int
    salt: bytes
    digest: bytes


def split_hash(hashed: str) -> HashParts:
    """The parts of a ``$7$`` hash; ValueError for anything else."""
    try:
        _, kind, iterations, salt, digest = hashed.split("$")
        parts = HashParts(int(iterations), base64.b64decode(salt, validate=True),
                          base64.b64decode(digest, validate=True))
    except (ValueError, TypeError) as exc:
        raise ValueError("not a mosquitto $7$ password hash") from exc
    if kind != "7" or parts.iterations < 1:
        raise ValueError("not a mosquitto $7$ password hash")
    return parts


def verify_password(password: str, hashed: str) -> bool:
    try:
        parts = split_hash(hashed)
    except ValueError:
        return False
    expected = hashlib.pbkdf2_hmac("sha512", password.encode(), parts.salt, parts.iterations)
    return hmac.compare_digest(expected, parts.digest)


def generate_password() -> str:
    return secrets.token_urlsafe(24)
