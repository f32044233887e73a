"""Attack: guess passwords online, and tell unknown from known users by how fast they fail.

Failed logins are limited per account and per client address (counted in the database, so every
API worker sees them); a locked key answers 429 with Retry-After, right password or not. Unknown
users verify a dummy argon2 hash, so both paths do the same work (counted, not timed).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Literal

import pytest
from argon2 import PasswordHasher

from cloud.api import security
from tests.api import world
from tests.api.conftest import ApiWorld, make_world
from tests.support.databases import TestDatabase

TOKEN = "/api/v1/auth/token"


@pytest.fixture
def api(db: TestDatabase) -> Iterator[ApiWorld]:
    yield from make_world(db, with_web=True, login_max_failures_per_account=3, login_max_failures_per_address=6)


def login(api: ApiWorld, username: str, password: str) -> int:
    return api.client.post(TOKEN, data={"username": username, "password": password}).status_code


def test_account_locks_after_failures_even_for_the_right_password(api: ApiWorld) -> None:
    assert [login(api, "farmer1", f"guess-{i}") for i in range(3)] == [401, 401, 401]
    r = api.client.post(TOKEN, data={"username": "farmer1", "password": world.password("farmer1")})
    assert r.status_code == 429 and r.json()["error"]["code"] == "too_many_attempts"
    assert 0 < int(r.headers["Retry-After"]) <= 15 * 60
    # The web form is locked as well (same counters), and says so.
    page = api.client.post("/login", data={"username": "farmer1", "password": world.password("farmer1")})
    assert page.status_code == 429 and "Retry-After" in page.headers
    # Another account from the same address is not locked (3 failures < 6 for the address).
    assert login(api, "farmer3", world.password("farmer3")) == 200
    # The lock ends after its lockout.
    api.client.app.state.auth_clock = lambda: datetime.now(UTC) + timedelta(minutes=16)  # type: ignore[attr-defined]
    assert login(api, "farmer1", world.password("farmer1")) == 200


def test_address_locks_across_usernames(api: ApiWorld) -> None:
    # Password spraying: one try per (mostly unknown) username from one address.
    assert {login(api, f"nobody{i}", "password1") for i in range(6)} == {401}
    assert login(api, "admin", world.password("admin")) == 429
    with api.db.connect() as conn:  # counted in the database, keyed by digest: no usernames stored
        keys = [k for (k,) in conn.execute("SELECT key FROM login_failures")]
    assert keys and not any("nobody" in k for k in keys)


def test_unknown_users_lock_like_known_ones(api: ApiWorld) -> None:
    answers = [api.client.post(TOKEN, data={"username": "ghost", "password": "x"}) for _ in range(4)]
    assert [a.status_code for a in answers] == [401, 401, 401, 429]  # an enumerator learns nothing


class CountingHasher(PasswordHasher):
    def __init__(self) -> None:
        super().__init__()
        self.verified = 0

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:  # noqa: A002 - argon2's name
        self.verified += 1
        return super().verify(hash, password)


def test_unknown_and_known_users_cost_one_hash_verification_each(api: ApiWorld,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    hasher = CountingHasher()
    monkeypatch.setattr(security, "_hasher", hasher)
    unknown = api.client.post(TOKEN, data={"username": "no-such-user", "password": "wrong-password"})
    assert hasher.verified == 1
    known = api.client.post(TOKEN, data={"username": "farmer1", "password": "wrong-password"})
    assert hasher.verified == 2
    assert (unknown.status_code, unknown.json()) == (known.status_code, known.json())
    # The dummy hash never lets anyone in, whatever the password.
    assert not security.verify_password(None, "no user has this password")
