"""The retained-config publisher against a real Mosquitto that wants a login."""

from __future__ import annotations

import subprocess
import threading
import uuid
from pathlib import Path
from urllib.parse import quote

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from messaging.broker import BrokerAddress
from messaging.publisher import MqttConfigPublisher

PASSWORD = "p@ss:w/rd%"  # every character a URL must escape


def test_publishes_retained_with_escaped_url_credentials(mosquitto_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    passwd = tmp_path / "passwd"
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(passwd), "cloud-api", PASSWORD], check=True)
    # user root: the password file lives in a root-only temp dir.
    broker = mosquitto_factory(f"allow_anonymous false\nuser root\npassword_file {passwd}\n")
    url = f"mqtt://cloud-api:{quote(PASSWORD, safe='')}@127.0.0.1:{broker.port}"
    MqttConfigPublisher(BrokerAddress.parse(url)).publish("fhy/v1/gw-1/config/desired", b"{}")

    # A later subscriber still gets it: it was retained.
    got: list[tuple[str, bytes, bool]] = []
    arrived = threading.Event()

    def on_message(client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        got.append((message.topic, bytes(message.payload), bool(message.retain)))
        arrived.set()

    reader = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"reader-{uuid.uuid4().hex[:6]}")
    reader.username_pw_set("cloud-api", PASSWORD)
    reader.on_message = on_message
    reader.on_connect = lambda client, *_: client.subscribe("fhy/v1/+/config/desired", qos=1)
    reader.connect("127.0.0.1", broker.port)
    reader.loop_start()
    try:
        assert arrived.wait(15), "retained config not delivered"
    finally:
        reader.disconnect()
        reader.loop_stop()
    assert got == [("fhy/v1/gw-1/config/desired", b"{}", True)]
