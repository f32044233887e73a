"""Publishing a gateway's desired config as a retained MQTT message."""

from __future__ import annotations

import logging
from typing import Protocol
from urllib.parse import urlparse

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

    def __init__(self, url: str, username: str | None = None, password: str | None = None,
                 timeout_s: float = 10.0) -> None:
        self.url, self.username, self.password, self.timeout_s = url, username, password, timeout_s

    def publish(self, topic: str, payload: bytes) -> None:
        import paho.mqtt.client as mqtt

        parsed = urlparse(self.url)
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="", protocol=mqtt.MQTTv311)
        username = self.username or parsed.username
        if username:
            client.username_pw_set(username, self.password or parsed.password)
        if parsed.scheme == "mqtts":
            client.tls_set()
        client.connect(parsed.hostname or "127.0.0.1", parsed.port or (8883 if parsed.scheme == "mqtts" else 1883))
        client.loop_start()
        try:
            info = client.publish(topic, payload, qos=1, retain=True)
            info.wait_for_publish(self.timeout_s)
            if not info.is_published():
                raise TimeoutError(f"config for {topic} not acknowledged by the broker")
        finally:
            client.disconnect()
            client.loop_stop()
