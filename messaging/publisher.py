"""Publishing a gateway's desired config as a retained MQTT message."""

from __future__ import annotations

import logging
from typing import Protocol

from messaging.broker import BrokerAddress

log = logging.getLogger(__name__)


class ConfigPublisher(Protocol):
    def publish(self, topic: str, payload: bytes) -> None:
        """Publish retained, QoS 1; raise on failure (the push is still recorded)."""


class RecordingPublisher:
    """Keeps what was published: for tests and for running without a broker."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []

    def publish(self, topic: str, payload: bytes) -> None:
        self.sent.append((topic, payload))


class MqttConfigPublisher:
    """A short-lived paho connection per push: pushes are rare, a held connection is not worth it."""

    def __init__(self, address: BrokerAddress, timeout_s: float = 10.0) -> None:
        self.address, self.timeout_s = address, timeout_s

    def publish(self, topic: str, payload: bytes) -> None:
        import paho.mqtt.client as mqtt

        address = self.address
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="", protocol=mqtt.MQTTv311)
        if address.username:
            client.username_pw_set(address.username, address.password)
        if address.tls:
            client.tls_set(ca_certs=address.ca_file)  # verifies the broker (CERT_REQUIRED)
        client.connect(address.host, address.port)
        client.loop_start()
        try:
            info = client.publish(topic, payload, qos=1, retain=True)
            info.wait_for_publish(self.timeout_s)
            if not info.is_published():
                raise TimeoutError(f"config for {topic} not acknowledged by the broker")
        finally:
            client.disconnect()
            client.loop_stop()
