"""Many simulated gateways' MQTT sessions driven from one thread.

Each gateway is a real paho client with its own connection, client id and last will,
as on a farm; instead of one network thread per client (thousands of threads), one
selector loop serves every socket through paho's external-loop callbacks.
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

log = logging.getLogger(__name__)


class GatewaySwarm:
    def __init__(self, host: str, port: int, *, keepalive_s: int = 60) -> None:
        self.host = host
        self.port = port
        self.keepalive_s = keepalive_s
        self.clients: dict[str, mqtt.Client] = {}
        self.acked = 0
        self.connected: set[str] = set()
        self._selector = selectors.DefaultSelector()
        self._last_misc = 0.0
        self.on_ack: Callable[[str, int], None] | None = None  # (gateway_id, mid)
        self.on_message: Callable[[str, str, bytes], None] | None = None  # (gateway_id, topic, payload)

    def add(self, gateway_id: str, will_topic: str, will_payload: bytes) -> mqtt.Client:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=gateway_id, protocol=mqtt.MQTTv5,
                             userdata=gateway_id)
        client.max_inflight_messages_set(20)
        client.max_queued_messages_set(0)
        client.will_set(will_topic, will_payload, qos=1, retain=True)
        client.on_socket_open = self._socket_open
        client.on_socket_close = self._socket_close
        client.on_socket_register_write = self._register_write
        client.on_socket_unregister_write = self._unregister_write
        client.on_connect = self._on_connect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        self.clients[gateway_id] = client
        client.connect(self.host, self.port, keepalive=self.keepalive_s)
        return client

    def publish(self, gateway_id: str, topic: str, payload: bytes, *, retain: bool = False) -> int:
        info = self.clients[gateway_id].publish(topic, payload, qos=1, retain=retain)
        return int(info.mid)

    def subscribe(self, gateway_id: str, topic: str) -> None:
        self.clients[gateway_id].subscribe(topic, qos=1)

    def remove(self, gateway_id: str) -> None:
        """Disconnect one gateway (its process stops, or its power goes); `add` brings it back."""
        client = self.clients.pop(gateway_id, None)
        self.connected.discard(gateway_id)
        if client is not None:
            client.disconnect()
            with contextlib.suppress(OSError):
                client.loop_write()
            sock = client.socket()
            if sock is not None:
                with contextlib.suppress(KeyError, ValueError):
                    self._selector.unregister(sock)

    def pump(self, seconds: float) -> None:
        """Serve every socket for about `seconds`."""
        deadline = time.monotonic() + seconds
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            for key, events in self._selector.select(timeout=min(remaining, 0.05)):
                client: mqtt.Client = key.data
                if events & selectors.EVENT_READ:
                    client.loop_read()
                if events & selectors.EVENT_WRITE:
                    client.loop_write()
            now = time.monotonic()
            if now - self._last_misc >= 1.0:  # keepalive pings and retries
                self._last_misc = now
                for client in self.clients.values():
                    client.loop_misc()

    def close(self) -> None:
        for client in self.clients.values():
            client.disconnect()
        self.pump(0.5)
        self._selector.close()

    # --- paho external-loop callbacks: bookkeeping only, never raise --------------------
    def _socket_open(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        self._selector.register(sock, selectors.EVENT_READ, client)

    def _socket_close(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(sock)

    def _register_write(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        self._selector.modify(sock, selectors.EVENT_READ | selectors.EVENT_WRITE, client)

    def _unregister_write(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self._selector.modify(sock, selectors.EVENT_READ, client)

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any,
                    properties: Any = None) -> None:
        if not reason_code.is_failure:
            self.connected.add(str(userdata))

    def _on_message(self, client: mqtt.Client, userdata: Any, message: Any) -> None:
        if self.on_message is not None:
            try:
                self.on_message(str(userdata), message.topic, bytes(message.payload))
            except Exception:
                log.exception("on_message failed")

    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int, reason_code: Any,
                    properties: Any = None) -> None:
        self.acked += 1
        if self.on_ack is not None:
            try:
                self.on_ack(str(userdata), mid)
            except Exception:
                log.exception("on_ack failed")
