"""The demo's own broker refuses what a county programme's broker refuses.

It is started by the demo's own code (TLS with a fresh CA, dynamic security, no anonymous login)
and the gateway logins are issued by provisioning, as the demo does for its 24 gateways.
"""

from __future__ import annotations

import queue
import secrets
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from fuhuiyang.demo.secure_broker import SecureBroker, start_secure_broker, unavailable_reason
from fuhuiyang.services.mqtt import accepts_anonymous
from fuhuiyang.services.tls import issue_server_tls
from protocol import topic_for
from tests.support.databases import TestDatabase

pytestmark = pytest.mark.skipif(unavailable_reason() is not None, reason=f"secure broker: {unavailable_reason()}")


@dataclass
class Session:
    client: mqtt.Client
    connack: ReasonCode | None
    acks: dict[int, ReasonCode]
    received: queue.Queue[tuple[str, bytes]]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def session(broker: SecureBroker, client_id: str, username: str | None = None, password: str | None = None,
            ca_file: Path | None = None, subscribe: str | None = None) -> Session:
    """An MQTT 5 client over TLS; its CONNACK (None: no answer), PUBACK reason codes and messages."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5,
                         reconnect_on_failure=False)
    if username:
        client.username_pw_set(username, password)
    client.tls_set(ca_certs=str(ca_file or broker.tls.ca_file), cert_reqs=ssl.CERT_REQUIRED)
    answered, subscribed = threading.Event(), threading.Event()
    s = Session(client, None, {}, queue.Queue())

    def on_connect(c: mqtt.Client, u: Any, f: Any, reason: ReasonCode, p: Any) -> None:
        s.connack = reason
        answered.set()
        if subscribe and not reason.is_failure:
            c.subscribe(subscribe, qos=1)

    def on_publish(c: mqtt.Client, u: Any, mid: int, reason: ReasonCode, p: Properties) -> None:
        s.acks[mid] = reason

    client.on_connect = on_connect
    client.on_disconnect = lambda c, u, f, r, p: answered.set()
    client.on_subscribe = lambda c, u, mid, codes, p: subscribed.set()
    client.on_publish = on_publish
    client.on_message = lambda c, u, m: s.received.put((m.topic, bytes(m.payload)))
    try:
        client.connect("127.0.0.1", broker.port)
    except (OSError, ssl.SSLError):
        return s  # the TLS handshake failed: never connected
    client.loop_start()
    assert answered.wait(15), "the broker never answered"
    if subscribe and s.connack is not None and not s.connack.is_failure:
        assert subscribed.wait(15)
    return s


def publish(s: Session, topic: str, payload: bytes) -> ReasonCode:
    info = s.client.publish(topic, payload, qos=1)
    info.wait_for_publish(15)
    assert info.is_published()
    return s.acks[info.mid]


@pytest.fixture
def secure(db: TestDatabase, tmp_path: Path) -> Iterator[tuple[SecureBroker, dict[str, str]]]:
    with db.connect() as conn:
        conn.execute("INSERT INTO regions (id, level, name) VALUES ('r-demo', 'county', 'R')")
        for farm in ("farm-a", "farm-b"):
            conn.execute("INSERT INTO farms (id, name, region_id) VALUES (%s, %s, 'r-demo')", (farm, farm))
        conn.commit()
        broker = start_secure_broker(conn, tmp_path / "broker")
        try:
            provisioner = broker.provisioner(conn)
            passwords = {gw: provisioner.register(farm, gw).password for farm, gw in (("farm-a", "gw-a"),
                                                                                      ("farm-b", "gw-b"))}
            yield broker, passwords
        finally:
            broker.stop()


def test_no_anonymous_login_and_no_plain_tcp(secure: tuple[SecureBroker, dict[str, str]]) -> None:
    broker, _ = secure
    anonymous = session(broker, "anon-1")
    assert anonymous.connack is None or anonymous.connack.is_failure
    anonymous.close()
    assert not accepts_anonymous(broker.process.endpoint, str(broker.tls.ca_file))
    # The listener speaks TLS only: a plain client gets no CONNACK.
    plain = broker.process.endpoint.__class__("127.0.0.1", broker.port, "mosquitto", tls=False)
    assert not accepts_anonymous(plain, timeout_s=3)


def test_a_gateway_cannot_use_anothers_login_or_topic(secure: tuple[SecureBroker, dict[str, str]]) -> None:
    broker, passwords = secure
    ingest = broker.services["ingest"]
    watcher = session(broker, "watch-1", ingest.username, ingest.password, subscribe="fhy/#")
    assert watcher.connack is not None and not watcher.connack.is_failure
    gw_a = session(broker, "gw-a", "gw-a", passwords["gw-a"])
    try:
        assert gw_a.connack is not None and not gw_a.connack.is_failure
        # Gateway A publishing on gateway B's topic: refused (MQTT 5 PUBACK 0x87), never delivered.
        refused = publish(gw_a, topic_for("gw-b", "telemetry"), b"forged")
        assert refused.value == 0x87, refused
        assert publish(gw_a, topic_for("gw-a", "health"), b"own").value == 0
        topic, payload = watcher.received.get(timeout=15)
        # The broker delivers one client's messages in order: the forged one would have come first.
        assert (topic, payload) == (topic_for("gw-a", "health"), b"own")
        assert watcher.received.empty()
    finally:
        gw_a.close()
        watcher.close()
    # Gateway B's password with A's id (its login is bound to its own client id), a wrong password.
    for client_id, username, password in (("gw-a", "gw-b", passwords["gw-b"]), ("gw-b", "gw-b", "wrong")):
        other = session(broker, client_id, username, password)
        assert other.connack is None or other.connack.is_failure, (client_id, username)
        other.close()


def test_a_client_trusting_another_ca_does_not_connect(secure: tuple[SecureBroker, dict[str, str]],
                                                        tmp_path: Path) -> None:
    broker, passwords = secure
    stranger = issue_server_tls(tmp_path / "other-ca")
    s = session(broker, "gw-a", "gw-a", passwords["gw-a"], ca_file=stranger.ca_file)
    assert s.connack is None or s.connack.is_failure
    s.close()


def test_without_the_plugin_the_demo_falls_back_to_an_open_broker_and_says_so(
        postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import psycopg

    from fuhuiyang.demo import stack as demo_stack

    monkeypatch.setattr(demo_stack, "unavailable_reason", lambda: "no mosquitto_dynamic_security.so plugin")
    schema = f"fhy_fallback_{secrets.token_hex(3)}"
    stack = demo_stack.start_stack(postgres_url, None, tmp_path, schema)
    try:
        assert stack.secure is None and not stack.broker.tls
        assert stack.broker_note and "dynamic_security" in stack.broker_note and "fell back" in stack.broker_note
        assert accepts_anonymous(stack.broker)  # what the summary's block will say: measured
        assert "FUHUIYANG_MQTT_USERNAME" not in stack.env("ingest")
    finally:
        stack.close()
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
