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


class HeldMqttPublisher:
    """One connection kept open for many retained publishes (a rollout opens a stage of hundreds
    of gateways at once); reconnects by itself."""

    def __init__(self, address: BrokerAddress, *, client_id: str = "", timeout_s: float = 10.0) -> None:
        import paho.mqtt.client as mqtt

        self.timeout_s = timeout_s
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311)
        if address.username:
            self._client.username_pw_set(address.username, address.password)
        if address.tls:
            self._client.tls_set()
        self._client.max_inflight_messages_set(100)
        self._client.connect(address.host, address.port)
        self._client.loop_start()

    def publish(self, topic: str, payload: bytes) -> None:
        info = self._client.publish(topic, payload, qos=1, retain=True)
        info.wait_for_publish(self.timeout_s)
        if not info.is_published():
            raise TimeoutError(f"{topic} not acknowledged by the broker")

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
