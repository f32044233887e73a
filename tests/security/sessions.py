"""A paho MQTT 5 client that records what the broker did to it (CONNACK, SUBACK, PUBACK, DISCONNECT)."""

from __future__ import annotations

import threading
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from tests.cloud.conftest import wait_until


class Session:
    def __init__(self, port: int, username: str, password: str, client_id: str) -> None:
        self.connack = threading.Event()
        self.reason: Any = None
        self.disconnected = threading.Event()
        self.suback: dict[int, list[Any]] = {}
        self.puback: dict[int, Any] = {}
        self.messages: list[tuple[str, bytes, bool]] = []
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5,
                                  reconnect_on_failure=False)
        self.client.username_pw_set(username, password)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda c, u, flags, reason, props: self.disconnected.set()
        self.client.on_subscribe = lambda c, u, mid, codes, props: self.suback.__setitem__(mid, list(codes))
        self.client.on_publish = lambda c, u, mid, code, props: self.puback.__setitem__(mid, code)
        self.client.on_message = lambda c, u, m: self.messages.append((m.topic, bytes(m.payload), bool(m.retain)))
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert self.connack.wait(15), f"no CONNACK for {client_id}"

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        self.reason = reason
        self.connack.set()

    @property
    def accepted(self) -> bool:
        return not self.reason.is_failure

    def subscribe(self, topic: str) -> list[Any]:
        """The SUBACK reason codes for one filter."""
        _, mid = self.client.subscribe(topic, qos=1)
        wait_until(lambda: mid in self.suback, timeout=15, what=f"SUBACK for {topic}")
        return self.suback[mid]

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> Any:
        """Publish at QoS 1 and return the PUBACK's reason code."""
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        wait_until(lambda: info.mid in self.puback, timeout=15, what=f"PUBACK on {topic}")
        return self.puback[info.mid]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def refused(port: int, username: str, password: str, client_id: str) -> bool:
    session = Session(port, username, password, client_id)
    session.close()
    return not session.accepted
