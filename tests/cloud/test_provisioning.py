"""Provisioning against a real Mosquitto running on the generated password and ACL files."""

from __future__ import annotations

import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from cloud.provisioning.gateways import Provisioner, ProvisioningError, gateway_yaml
from cloud.provisioning.mosquitto_auth import MosquittoFiles, acl_file
from cloud.provisioning.passwords import hash_password, verify_password
from messaging.broker import BrokerAddress
from tests.cloud.conftest import wait_until


class Session:
    """A paho MQTT 5 client that records what happens to it."""

    def __init__(self, port: int, username: str, password: str) -> None:
        self.connack = threading.Event()
        self.reason: Any = None
        self.messages: list[tuple[str, bytes]] = []
        self.suback: list[Any] = []
        self.puback: dict[int, Any] = {}
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{username}-{uuid.uuid4().hex[:6]}",
                                  protocol=mqtt.MQTTv5, reconnect_on_failure=False)
        self.client.username_pw_set(username, password)
        self.client.on_connect = self._on_connect
        self.client.on_message = lambda c, u, m: self.messages.append((m.topic, bytes(m.payload)))
        self.client.on_subscribe = lambda c, u, mid, codes, props: self.suback.extend(codes)
        self.client.on_publish = lambda c, u, mid, code, props: self.puback.__setitem__(mid, code)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.connack.wait(15)

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        self.reason = reason
        self.connack.set()

    @property
    def accepted(self) -> bool:
        return self.reason is not None and not self.reason.is_failure

    def topics(self) -> list[str]:
        return [topic for topic, _ in self.messages]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def refused(port: int, username: str, password: str) -> bool:
    session = Session(port, username, password)
    session.close()
    return session.reason is not None and session.reason.is_failure


@pytest.fixture
def farm(db):
    with db.connect() as conn:
        conn.execute("INSERT INTO regions (id, level, name) VALUES ('cn-cq-xs', 'county', '秀山')")
        conn.execute("INSERT INTO farms (id, name, region_id) VALUES ('farm-1', 'Farm 1', 'cn-cq-xs')")
        conn.commit()
    return "farm-1"


def test_password_hash_matches_mosquitto_passwd(tmp_path: Path) -> None:
    passwd = tmp_path / "pw"
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(passwd), "alice", "s3cret"], check=True)
    theirs = passwd.read_text().strip().split(":", 1)[1]
    assert verify_password("s3cret", theirs)
    assert not verify_password("s3cre", theirs)
    assert verify_password("s3cret", hash_password("s3cret"))
    assert hash_password("x").startswith("$7$101$")


def test_acl_lists_only_own_topics_for_gateways() -> None:
    text = acl_file([])
    assert "pattern write fhy/v1/%u/telemetry" in text
    assert "pattern read fhy/v1/%u/config/desired" in text
    assert "pattern write fhy/v1/%u/config/desired" not in text
    assert "#" not in text.split("# every gateway")[1]  # no wildcard grants to gateways


def test_broker_enforces_generated_credentials_and_acls(db, farm, mosquitto_factory, tmp_path) -> None:
    pw_file, acl_path = tmp_path / "passwd", tmp_path / "acl"
    files = MosquittoFiles(pw_file, acl_path)
    with db.connect() as conn:
        prov = Provisioner(conn, files, BrokerAddress("127.0.0.1", 1883, False, None, None))
        a = prov.register(farm, "gw-a")
        b = prov.register(farm, "gw-b")
        cloud_password = prov.add_service_account("cloud-api", "publisher")
        ingest_password = prov.add_service_account("ingest-1", "ingest")
        with pytest.raises(ProvisioningError):
            prov.register(farm, "gw-a")
        with pytest.raises(ProvisioningError):
            prov.register("no-such-farm")
    broker = mosquitto_factory(
        # user root: the test files live in a root-only temp dir (production: group-readable files).
        f"allow_anonymous false\nuser root\npassword_file {pw_file}\nacl_file {acl_path}\n")
    port = broker.port

    assert refused(port, "gw-a", "wrong password")
    assert refused(port, "nobody", "x")

    ingest = Session(port, "ingest-1", ingest_password)
    assert ingest.accepted
    ingest.client.subscribe("$share/ingest/fhy/#", qos=1)
    wait_until(lambda: len(ingest.suback) == 1, what="ingest suback")
    assert not ingest.suback[0].is_failure

    gw_a = Session(port, "gw-a", a.password)
    assert gw_a.accepted
    # Publishing under another gateway's id is refused; under its own it goes through.
    forged = gw_a.client.publish("fhy/v1/gw-b/telemetry", b"forged", qos=1)
    own = gw_a.client.publish("fhy/v1/gw-a/telemetry", b"own", qos=1)
    wait_until(lambda: "fhy/v1/gw-a/telemetry" in ingest.topics(), what="own message at ingest")
    assert "fhy/v1/gw-b/telemetry" not in ingest.topics()
    wait_until(lambda: forged.mid in gw_a.puback, what="puback for the forged message")
    assert gw_a.puback[forged.mid].is_failure  # MQTT 5: 0x87 not authorized
    assert not gw_a.puback[own.mid].is_failure
    # A gateway cannot write its own desired config either.
    self_issued = gw_a.client.publish("fhy/v1/gw-a/config/desired", b"self-issued", qos=1)
    wait_until(lambda: self_issued.mid in gw_a.puback, what="puback for self-issued config")
    assert gw_a.puback[self_issued.mid].is_failure

    # Desired config: each gateway reads its own, never another's.
    cloud = Session(port, "cloud-api", cloud_password)
    cloud.client.publish("fhy/v1/gw-b/config/desired", b"for-b", qos=1, retain=True).wait_for_publish(10)
    cloud.client.publish("fhy/v1/gw-a/config/desired", b"for-a", qos=1, retain=True).wait_for_publish(10)
    gw_a.client.subscribe([("fhy/v1/gw-b/config/desired", 1), ("fhy/v1/gw-a/config/desired", 1)])
    wait_until(lambda: "fhy/v1/gw-a/config/desired" in gw_a.topics(), what="own desired config")
    assert gw_a.messages.count(("fhy/v1/gw-a/config/desired", b"for-a")) == 1
    assert "fhy/v1/gw-b/config/desired" not in gw_a.topics()
    # Mosquitto 2.0 grants the SUBACK but checks read access per message: nothing arrives.
    cloud.client.publish("fhy/v1/gw-b/config/desired", b"for-b-2", qos=1).wait_for_publish(10)
    cloud.client.publish("fhy/v1/gw-a/config/desired", b"for-a-2", qos=1).wait_for_publish(10)
    wait_until(lambda: ("fhy/v1/gw-a/config/desired", b"for-a-2") in gw_a.messages, what="live config")
    assert "fhy/v1/gw-b/config/desired" not in gw_a.topics()
    gw_b = Session(port, "gw-b", b.password)
    gw_b.client.subscribe("fhy/v1/gw-b/config/desired", qos=1)
    wait_until(lambda: ("fhy/v1/gw-b/config/desired", b"for-b") in gw_b.messages, what="gw-b's config")
    gw_b.close()

    # Revoke gw-b and rotate gw-a; the broker reloads the regenerated files.
    with db.connect() as conn:
        prov = Provisioner(conn, files, BrokerAddress("127.0.0.1", 1883, False, None, None))
        prov.revoke("gw-b")
        rotated = prov.rotate("gw-a")
        listed = {g["id"]: g for g in prov.list_gateways(farm)}
        audit = conn.execute("SELECT action, entity_id FROM audit_log ORDER BY id").fetchall()
    broker.reload()
    wait_until(lambda: refused(port, "gw-b", b.password), what="revoked gateway refused")
    wait_until(lambda: refused(port, "gw-a", a.password), what="old password refused after rotation")
    fresh = Session(port, "gw-a", rotated.password)
    assert fresh.accepted
    fresh.close()
    assert listed["gw-b"]["revoked"] and not listed["gw-a"]["revoked"]
    assert ("revoke", "gw-b") in audit and ("rotate", "gw-a") in audit and ("register", "gw-a") in audit
    for session in (gw_a, ingest, cloud):
        session.close()


def test_generated_gateway_yaml_passes_edge_validation(tmp_path: Path) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text(gateway_yaml("gw-7f3a", BrokerAddress("mqtt.example.cn", 8883, True, None, None)))
    result = subprocess.run([sys.executable, "-m", "fuhuiyang", "edge", "validate-config", str(path)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "gateway gw-7f3a" in result.stdout
