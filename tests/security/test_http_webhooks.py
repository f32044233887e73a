"""Attack on the SMS webhooks: read the Aliyun secret from an access log (it used to sit in the
URL path), or capture one signed delivery and send it again, e.g. a reply that acknowledges an
alert or a receipt that marks an SMS delivered.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from cloud.notify.inbound import sign_generic, twilio_signature
from cloud.notify.settings import SmsSettings
from tests.api.conftest import ApiWorld, make_world
from tests.support.databases import TestDatabase

SECRET, TWILIO, ALIYUN = "hook-secret", "tw-token", "ali-token-0123"
BASE = "/api/v1/webhooks/sms"


@pytest.fixture
def api(db: TestDatabase) -> Iterator[ApiWorld]:
    for world in make_world(db):
        world.client.app.state.sms_settings = SmsSettings(  # type: ignore[attr-defined]
            webhook_secret=SecretStr(SECRET), twilio_auth_token=SecretStr(TWILIO),
            aliyun_callback_token=SecretStr(ALIYUN))
        yield world


def replies_logged(api: ApiWorld) -> int:
    with api.db.connect() as conn:
        row = conn.execute("SELECT count(*) FROM audit_log WHERE action = 'sms_reply'").fetchone()
    assert row is not None
    return int(row[0])


def rejected(api: ApiWorld) -> dict[str, int]:
    return dict(getattr(api.client.app.state, "sms_webhook_rejected", {}))  # type: ignore[attr-defined]


def test_aliyun_token_is_not_in_the_path(api: ApiWorld) -> None:
    spec = api.client.get("/openapi.json").json()
    assert not [p for p in spec["paths"] if p.startswith(BASE) and "{" in p]  # no secret path segment
    push = json.dumps([{"phone_number": "13800000009", "content": "谁在"}]).encode()
    assert api.client.post(f"{BASE}/aliyun/{ALIYUN}", content=push).status_code in (404, 405)
    assert api.client.post(f"{BASE}/aliyun", content=push).status_code == 401
    assert api.client.post(f"{BASE}/aliyun", content=push, auth=("aliyun", "wrong")).status_code == 401
    # The callback URL https://aliyun:<token>@host/... sends the token as Basic credentials.
    r = api.client.post(f"{BASE}/aliyun", content=push, auth=("aliyun", ALIYUN))
    assert r.status_code == 200 and r.json()["code"] == 0 and replies_logged(api) == 1
    # Or a proxy adds the header.
    other = json.dumps([{"phone_number": "13800000009", "content": "还在吗"}]).encode()
    r = api.client.post(f"{BASE}/aliyun", content=other, headers={"X-Fuhuiyang-Token": ALIYUN})
    assert r.status_code == 200 and replies_logged(api) == 2


def test_aliyun_push_replayed_is_not_applied_twice(api: ApiWorld) -> None:
    push = json.dumps([{"phone_number": "13800000009", "content": "鸡不吃料"}]).encode()
    first = api.client.post(f"{BASE}/aliyun", content=push, auth=("aliyun", ALIYUN))
    again = api.client.post(f"{BASE}/aliyun", content=push, auth=("aliyun", ALIYUN))
    # Aliyun retries unless it gets its success answer: the duplicate gets it, and nothing happens.
    assert first.json()["accepted"] == 1 and again.json()["code"] == 0 and again.json()["duplicate"] is True
    assert replies_logged(api) == 1 and rejected(api) == {"aliyun:replay": 1}


def _generic(api: ApiWorld, body: bytes, stamp: int) -> int:
    headers = {"X-Fuhuiyang-Signature": sign_generic(body, SECRET.encode(), stamp),
               "X-Fuhuiyang-Timestamp": str(stamp), "Content-Type": "application/json"}
    return api.client.post(f"{BASE}/generic", content=body, headers=headers).status_code


def test_signed_generic_delivery_replayed_inside_its_window_is_refused(api: ApiWorld) -> None:
    body = json.dumps({"type": "reply", "from": "+8613800000009", "text": "鸡不吃料"}).encode()
    stamp = int(time.time())
    assert _generic(api, body, stamp) == 200
    assert _generic(api, body, stamp) == 409  # same signature, still inside the 5-minute window
    assert replies_logged(api) == 1 and rejected(api) == {"generic:replay": 1}
    assert _generic(api, body, stamp + 1) == 200  # a new signed delivery is fine


def test_twilio_callback_replayed_is_refused(api: ApiWorld) -> None:
    url = f"http://testserver{BASE}/twilio"
    form = {"MessageSid": "SM1", "SmsStatus": "received", "From": "+8613800000009", "Body": "鸡不吃料"}
    headers = {"X-Twilio-Signature": twilio_signature(url, form, TWILIO)}
    assert api.client.post(url, data=form, headers=headers).status_code == 200
    assert api.client.post(url, data=form, headers=headers).status_code == 409
    assert replies_logged(api) == 1


def test_nul_in_a_signed_webhook_is_a_400_not_a_500(api: ApiWorld) -> None:
    body = json.dumps({"type": "reply", "from": "+8613800000009", "text": "a\x00b"}).encode()
    assert _generic(api, body, int(time.time())) == 400
    push = json.dumps([{"phone_number": "138\x00", "content": "x"}]).encode()
    assert api.client.post(f"{BASE}/aliyun", content=push, auth=("aliyun", ALIYUN)).status_code == 400
