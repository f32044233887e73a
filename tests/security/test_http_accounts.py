"""Attack: with a stolen session (a lost phone), take the account over for good: set a new
password without knowing the old one, or move the alert phone (where SMS alerts go and whose
replies acknowledge them) to the attacker's number. And: tokens that outlive logout.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.api import world
from tests.api.conftest import ApiWorld, make_world
from tests.support.databases import TestDatabase

ATTACKER_PHONE = "+8613999999999"


@pytest.fixture
def api(db: TestDatabase) -> Iterator[ApiWorld]:
    yield from make_world(db)


def me(api: ApiWorld, token: str) -> int:
    return api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code


def login(api: ApiWorld, username: str, password: str) -> str:
    r = api.client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def test_password_change_needs_the_current_password_and_ends_every_session(api: ApiWorld) -> None:
    uid = api.ids["users"]["farmer1"]
    h = api.headers("farmer1")
    r = api.client.patch(f"/api/v1/users/{uid}", headers=h, json={"password": "attacker-pass"})
    assert r.status_code == 403
    r = api.client.patch(f"/api/v1/users/{uid}", headers=h,
                         json={"password": "attacker-pass", "current_password": "not-it"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "wrong_password"
    r = api.client.post("/api/v1/me/password", headers=h,
                        json={"current_password": "not-it", "new_password": "attacker-pass"})
    assert r.status_code == 403
    assert login(api, "farmer1", world.password("farmer1"))  # still the old password
    second = login(api, "farmer1", world.password("farmer1"))  # another device
    r = api.client.post("/api/v1/me/password", headers=h,
                        json={"current_password": world.password("farmer1"), "new_password": "new-pass-word"})
    assert r.status_code == 204
    assert me(api, api.tokens["farmer1"]) == 401 and me(api, second) == 401  # every session ended
    assert me(api, login(api, "farmer1", "new-pass-word")) == 200


def test_wrong_current_passwords_count_towards_the_lockout(api: ApiWorld) -> None:
    h = api.headers("farmer1")
    codes = [api.client.post("/api/v1/me/password", headers=h,
                             json={"current_password": f"guess-{i}", "new_password": "new-pass-word"}).status_code
             for i in range(6)]
    assert codes[:5] == [403] * 5 and codes[5] == 429


def test_admin_reset_ends_the_users_sessions(api: ApiWorld) -> None:
    uid = api.ids["users"]["farmer1"]
    r = api.client.patch(f"/api/v1/users/{uid}", headers=api.headers("admin"), json={"password": "reset-by-admin"})
    assert r.status_code == 200
    assert me(api, api.tokens["farmer1"]) == 401 and me(api, api.tokens["admin"]) == 200


def test_logout_revokes_the_token(api: ApiWorld) -> None:
    other = login(api, "farmer1", world.password("farmer1"))
    assert api.client.post("/api/v1/auth/logout", headers=api.headers("farmer1")).status_code == 204
    assert me(api, api.tokens["farmer1"]) == 401
    assert me(api, other) == 200  # only that session: the farmer's other phone stays logged in


def test_admin_revokes_sessions_and_deactivation_ends_them(api: ApiWorld) -> None:
    uid = api.ids["users"]["farmer1"]
    assert api.client.post(f"/api/v1/users/{uid}/sessions/revoke", headers=api.headers("farmer3")).status_code == 404
    r = api.client.post(f"/api/v1/users/{uid}/sessions/revoke", headers=api.headers("admin"))
    assert r.status_code == 200 and r.json() == {"revoked": 1}
    assert me(api, api.tokens["farmer1"]) == 401
    token = login(api, "farmer1", world.password("farmer1"))
    assert api.client.patch(f"/api/v1/users/{uid}", headers=api.headers("admin"), json={"active": False}).status_code == 200
    assert me(api, token) == 401
    with api.db.connect() as conn:
        assert conn.execute("SELECT count(*) FROM sessions WHERE user_id = %s AND revoked_at IS NULL",
                            (uid,)).fetchone() == (0,)


def test_tokens_without_a_session_are_refused(api: ApiWorld) -> None:
    issuer = api.client.app.state.issuer  # type: ignore[attr-defined]
    forged_session = issuer.issue(api.ids["users"]["admin"], "admin", "made-up-session")
    assert me(api, forged_session) == 401  # signed with the real key, but no such session


def _sent_code(api: ApiWorld, phone: str) -> str:
    with api.db.connect() as conn:
        row = conn.execute("SELECT body, user_id FROM notifications WHERE recipient = %s AND template LIKE "
                           "'phone_verify.%%' ORDER BY id DESC LIMIT 1", (phone,)).fetchone()
    assert row is not None, "no code queued for the new number"
    assert row[1] is None  # not addressed to the user: a code must not use up their alert pacing
    found = re.search(r"(?<!\d)\d{6}(?!\d)", row[0])
    assert found is not None, row[0]
    return found.group(0)


def phone_of(api: ApiWorld, username: str) -> str | None:
    with api.db.connect() as conn:
        row = conn.execute("SELECT phone FROM users WHERE username = %s", (username,)).fetchone()
    assert row is not None
    return row[0]


def test_phone_change_needs_the_code_sent_to_the_new_number(api: ApiWorld) -> None:
    uid = api.ids["users"]["farmer1"]
    h = api.headers("farmer1")
    before = phone_of(api, "farmer1")
    r = api.client.patch(f"/api/v1/users/{uid}", headers=h, json={"phone": ATTACKER_PHONE})
    assert r.status_code == 403 and r.json()["error"]["code"] == "verify_phone"
    assert phone_of(api, "farmer1") == before
    r = api.client.post("/api/v1/me/phone", headers=h, json={"phone": ATTACKER_PHONE})
    assert r.status_code == 202 and r.json()["attempts_left"] == 5
    assert phone_of(api, "farmer1") == before  # nothing changes before the code
    code = _sent_code(api, ATTACKER_PHONE)  # queued in the SMS outbox, to the NEW number
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    r = api.client.post("/api/v1/me/phone/confirm", headers=h, json={"code": wrong})
    assert r.status_code == 422 and phone_of(api, "farmer1") == before
    r = api.client.post("/api/v1/me/phone/confirm", headers=h, json={"code": code})
    assert r.status_code == 200 and r.json()["phone"] == ATTACKER_PHONE == phone_of(api, "farmer1")
    # The code is spent.
    assert api.client.post("/api/v1/me/phone/confirm", headers=h, json={"code": code}).status_code == 409


def test_phone_codes_allow_few_attempts_and_expire(api: ApiWorld) -> None:
    h = api.headers("farmer1")
    before = phone_of(api, "farmer1")
    assert api.client.post("/api/v1/me/phone", headers=h, json={"phone": ATTACKER_PHONE}).status_code == 202
    code = _sent_code(api, ATTACKER_PHONE)
    wrong = [f"{(int(code) + i) % 10**6:06d}" for i in range(1, 6)]
    assert [api.client.post("/api/v1/me/phone/confirm", headers=h, json={"code": w}).status_code
            for w in wrong] == [422] * 5
    # Five wrong codes: even the right one is refused now.
    assert api.client.post("/api/v1/me/phone/confirm", headers=h, json={"code": code}).status_code == 409
    assert phone_of(api, "farmer1") == before
    # A new code one minute later, confirmed after its 10 minutes: expired.
    state = api.client.app.state  # type: ignore[attr-defined]
    state.auth_clock = lambda: datetime.now(UTC) + timedelta(minutes=2)
    assert api.client.post("/api/v1/me/phone", headers=h, json={"phone": ATTACKER_PHONE}).status_code == 202
    code = _sent_code(api, ATTACKER_PHONE)
    state.auth_clock = lambda: datetime.now(UTC) + timedelta(minutes=13)
    assert api.client.post("/api/v1/me/phone/confirm", headers=h, json={"code": code}).status_code == 409
    assert phone_of(api, "farmer1") == before
