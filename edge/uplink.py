"""MQTT uplink (paho-mqtt 2.x): one connection per gateway, owned by a network thread.

The outbox is the only store of unsent data. Each connection gets a fresh paho client, so
nothing paho queued on a dead connection is resent behind our back: after a reconnect the
agent re-reads unacknowledged rows from the outbox. Callbacks only put events on a queue
and never raise; the agent's loop consumes them.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import random
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion

from edge.config import MqttSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Connected:
    generation: int
    protocol: str


@dataclass(frozen=True)
class Disconnected:
    generation: int
    reason: str


@dataclass(frozen=True)
class Ack:
    generation: int
    mid: int
    ok: bool


@dataclass(frozen=True)
class Inbound:
    topic: str
    payload: bytes


Event = Connected | Disconnected | Ack | Inbound


def backoff_s(failures: int, low: float, high: float, rng: random.Random) -> float:
    """Exponential backoff with jitter in [½, 1] of the step, so a fleet does not reconnect in step."""
    step = min(high, low * 2 ** min(failures, 30))
    return float(step * rng.uniform(0.5, 1.0))


class Uplink:
    def __init__(self, settings: MqttSettings, client_id: str, *, rng: random.Random | None = None,
                 client_factory: Callable[..., mqtt.Client] = mqtt.Client) -> None:
        self.settings = settings
        self.client_id = client_id
        self.events: queue.Queue[Event] = queue.Queue()
        self._rng = rng or random.Random()
        self._factory = client_factory
        self._lock = threading.RLock()  # paho may call back into us from inside publish/disconnect
        self._client: mqtt.Client | None = None
        self._generation = 0
        self._connected_gen = -1
        self._will: tuple[str, bytes] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failures = 0
        self._unavailable_logged = False
        self._protocol = "3.1.1" if settings.protocol == "3.1.1" else "5"
        self._ever_connected = False

    # -- called from the agent's thread -----------------------------------------------------
    def set_will(self, topic: str, payload: bytes) -> None:
        """The retained last will used by the next connection."""
        with self._lock:
            self._will = (topic, payload)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="mqtt-uplink", daemon=True)
        self._thread.start()

    def stop(self, final: tuple[str, bytes] | None = None, timeout: float = 3.0) -> None:
        """Optionally publish a final retained message (status offline), then disconnect."""
        with self._lock:
            client = self._client if self.connected else None
        if client is not None and final is not None:
            info = client.publish(final[0], final[1], qos=1, retain=True)
            deadline = time.monotonic() + timeout
            while not info.is_published() and time.monotonic() < deadline:
                time.sleep(0.02)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                if client.is_connected():
                    _disconnect_now(client)

    def sever(self) -> None:
        """Drop the link as a failing network does: no DISCONNECT, so the broker sends the will."""
        with self._lock:
            client = self._client
        sock = client.socket() if client is not None else None
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                # The plain socket's shutdown: ssl.SSLSocket's own also drops its SSL object under
                # the network thread, which may be reading through it.
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
        self.stop()

    @property
    def connected(self) -> bool:
        return self._connected_gen == self._generation and self._client is not None

    @property
    def generation(self) -> int:
        return self._generation

    @property
    def protocol(self) -> str:
        return self._protocol

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> tuple[int, int] | None:
        """QoS 1 publish on the live connection: (generation, mid), or None when offline."""
        with self._lock:
            if not self.connected or self._client is None:
                return None
            info = self._client.publish(topic, payload, qos=1, retain=retain)
            if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                return None
            return self._generation, info.mid

    def subscribe(self, topic: str) -> bool:
        with self._lock:
            if not self.connected or self._client is None:
                return False
            rc, _ = self._client.subscribe(topic, qos=1)
            return rc == MQTTErrorCode.MQTT_ERR_SUCCESS

    # -- network thread -------------------------------------------------------------------
    def _run(self) -> None:
        next_attempt = 0.0
        while not self._stop.is_set():
            client = self._client
            if client is None:
                if time.monotonic() < next_attempt:
                    self._stop.wait(min(0.2, next_attempt - time.monotonic()))
                    continue
                if not self._connect():
                    next_attempt = time.monotonic() + self._fail()
                continue
            try:
                rc = client.loop(timeout=0.1)
            except Exception as exc:  # a paho bug must not kill the uplink thread
                log.warning("mqtt loop error: %s", exc)
                rc = MQTTErrorCode.MQTT_ERR_UNKNOWN
            if rc != MQTTErrorCode.MQTT_ERR_SUCCESS or self._client is None:
                self._drop(client, f"loop: {rc}")
                next_attempt = time.monotonic() + self._fail()

    def _connect(self) -> bool:
        s = self.settings
        with self._lock:
            self._generation += 1
            gen = self._generation
            proto = MQTTProtocolVersion.MQTTv5 if self._protocol == "5" else MQTTProtocolVersion.MQTTv311
            kwargs: dict[str, Any] = {"callback_api_version": CallbackAPIVersion.VERSION2,
                                      "client_id": self.client_id, "protocol": proto}
            if proto == MQTTProtocolVersion.MQTTv311:
                kwargs["clean_session"] = True
            client = self._factory(**kwargs)
            client.enable_logger(logging.getLogger(f"{__name__}.paho"))
            client.max_inflight_messages_set(s.inflight)
            client.max_queued_messages_set(s.inflight * 2)
            client.connect_timeout = s.connect_timeout_s
            if s.username:
                client.username_pw_set(s.username, s.password())
            if s.tls:
                client.tls_set(ca_certs=str(s.ca_file) if s.ca_file else None,
                               cert_reqs=ssl.CERT_REQUIRED, tls_version=ssl.PROTOCOL_TLS_CLIENT)
            if self._will is not None:
                client.will_set(self._will[0], self._will[1], qos=1, retain=True)
            client.on_connect = lambda c, u, f, rc, p=None: self._on_connect(gen, rc)
            client.on_disconnect = lambda c, u, f, rc, p=None: self._on_disconnect(gen, rc)
            client.on_publish = lambda c, u, mid, rc, p=None: self._on_publish(gen, mid, rc)
            client.on_message = lambda c, u, msg: self._on_message(msg)
            # Only this network thread writes the socket. Left alone, paho (driven by our own loop,
            # so "not threaded") writes from whichever thread publishes: over TLS two threads
            # writing one SSL connection corrupt it (SSL BAD_LENGTH, the broker's "protocol
            # error"), and a failed write there calls on_disconnect on the publisher's thread
            # under paho's callback lock while it holds ours. With this hook set, paho queues the
            # packet and wakes our loop, which writes it.
            client.on_socket_register_write = _written_by_network_thread
            self._client = client
        try:
            client.connect(s.host, s.port, keepalive=s.keepalive_s)
        except (OSError, ValueError) as exc:
            self._note_unavailable(f"{exc}")
            with self._lock:
                self._client = None
            return False
        return True

    def _fail(self) -> float:
        self._failures += 1
        if self.settings.protocol == "auto" and not self._ever_connected and self._failures % 2 == 0:
            # No CONNACK yet from this broker: alternate with 3.1.1 in case it speaks only that.
            self._protocol = "3.1.1" if self._protocol == "5" else "5"
        return backoff_s(self._failures - 1, self.settings.backoff_min_s, self.settings.backoff_max_s, self._rng)

    def _drop(self, client: mqtt.Client, why: str) -> None:
        with self._lock:
            if self._client is client:
                self._client = None
        with contextlib.suppress(Exception):  # best effort on a dead socket
            if client.is_connected():
                _disconnect_now(client)
        log.debug("mqtt connection dropped (%s)", why)

    def _note_unavailable(self, why: str) -> None:
        if not self._unavailable_logged:
            log.warning("broker %s:%s unavailable (%s); retrying with backoff, data stays in the outbox",
                        self.settings.host, self.settings.port, why)
            self._unavailable_logged = True
        else:
            log.debug("broker still unavailable: %s", why)

    # -- paho callbacks: enqueue only, never raise ---------------------------------------------
    def _on_connect(self, gen: int, rc: Any) -> None:
        try:
            if getattr(rc, "is_failure", False) or (isinstance(rc, int) and rc != 0):
                self._note_unavailable(f"connection refused: {rc}")
                if str(rc) == "Unsupported protocol version" and self.settings.protocol == "auto":
                    self._protocol = "3.1.1"
                client = self._client
                if client is not None:
                    client.disconnect()
                return
            self._connected_gen = gen
            if self._unavailable_logged or self._failures:
                log.warning("broker %s:%s reachable again after %s failed attempts",
                            self.settings.host, self.settings.port, self._failures)
            self._failures = 0
            self._ever_connected = True
            self._unavailable_logged = False
            self.events.put(Connected(gen, self._protocol))
        except Exception:  # never let an exception into paho's loop
            log.exception("on_connect")

    def _on_disconnect(self, gen: int, rc: Any) -> None:
        try:
            was = self._connected_gen == gen
            if was:
                self._connected_gen = -1
                if not self._stop.is_set():
                    self._note_unavailable(f"disconnected: {rc}")
                self.events.put(Disconnected(gen, str(rc)))
            # No lock here: paho calls this holding its callback lock, which a publisher holding
            # our lock may be waiting for (lock-order inversion). One reference assignment is atomic.
            if self._client is not None and gen == self._generation:
                self._client = None
        except Exception:
            log.exception("on_disconnect")

    def _on_publish(self, gen: int, mid: int, rc: Any) -> None:
        try:
            self.events.put(Ack(gen, mid, not getattr(rc, "is_failure", False)))
        except Exception:
            log.exception("on_publish")

    def _on_message(self, msg: mqtt.MQTTMessage) -> None:
        try:
            self.events.put(Inbound(msg.topic, bytes(msg.payload)))
        except Exception:
            log.exception("on_message")


def _written_by_network_thread(client: mqtt.Client, userdata: Any, sock: Any) -> None:
    """paho's register-write hook: nothing to do, the network thread's loop selects for writing."""


def _disconnect_now(client: mqtt.Client) -> None:
    """DISCONNECT written by this thread, the only one left using the client (no network loop
    will run to write it; without the DISCONNECT the broker would publish the will)."""
    client.on_socket_register_write = None
    client.disconnect()
