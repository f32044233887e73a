"""The broker side of ingest and detection: a paho-mqtt 2.x client with manual acknowledgement.

Callbacks only enqueue. Messages are acknowledged by the service after their batch
commits; Receive Maximum (MQTT 5) caps how many unacknowledged messages the
broker sends us, which with a bounded queue is our back-pressure. A persistent
session (fixed client id, session expiry) means a worker that dies before acking
gets the same messages again when it comes back.
"""

from __future__ import annotations

import logging
import queue
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from messaging.broker import BrokerAddress

log = logging.getLogger(__name__)


class Gauge(Protocol):
    """A gauge as prometheus_client has it; this package does not need prometheus itself."""

    def set(self, value: float) -> None: ...


class SubscriberMetrics(Protocol):
    """The gauges this adapter keeps current (IngestMetrics has them all); read-only, so any
    object whose gauges have a `set` will do."""

    @property
    def connected(self) -> Gauge: ...

    @property
    def subscribed(self) -> Gauge: ...

    @property
    def unacked(self) -> Gauge: ...


class _NullGauge:
    def set(self, value: float) -> None:
        pass


@dataclass(frozen=True)
class Delivery:
    topic: str
    payload: bytes
    mid: int
    qos: int
    generation: int  # connection number: acks for an older connection are void
    received_s: float
    retain: bool = False  # sent from the broker's retained store (a replay), not as it was published


class MqttSubscriber:
    def __init__(
        self,
        address: BrokerAddress,
        client_id: str,
        topics: list[str],
        deliveries: queue.Queue[Delivery],
        metrics: SubscriberMetrics,
        *,
        mqtt5: bool = True,
        receive_maximum: int = 1000,
        session_expiry_s: int = 3600,
        keepalive_s: int = 30,
        retire: bool = False,
    ) -> None:
        self.address = address
        self.topics = topics
        self.deliveries = deliveries
        # Other workers (detection) reuse this adapter with their own metrics: use the gauges
        # they have (connected, subscribed, unacked) and skip the rest.
        self._connected = getattr(metrics, "connected", None) or _NullGauge()
        self._subscribed_gauge = getattr(metrics, "subscribed", None) or _NullGauge()
        self._unacked_gauge = getattr(metrics, "unacked", None) or _NullGauge()
        self.mqtt5 = mqtt5
        self._generation = 0
        self._subscribed = threading.Event()
        self._left = threading.Event()
        self.retire = retire
        self._warned_down = False
        self._stopping = False
        self._lock = threading.Lock()
        self._unacked = 0  # delivered on this connection, not yet acknowledged
        self.max_unacked = 0  # high-water mark: bounded by Receive Maximum
        self._connect_props: Properties | None = None
        if mqtt5:
            self.client = mqtt.Client(
                CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5, manual_ack=True
            )
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = session_expiry_s
            props.ReceiveMaximum = receive_maximum
            self._connect_props = props
        else:
            self.client = mqtt.Client(
                CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False,
                protocol=mqtt.MQTTv311, manual_ack=True,
            )
        if address.username:
            self.client.username_pw_set(address.username, address.password)
        if address.tls:
            self.client.tls_set(ca_certs=address.ca_file, cert_reqs=ssl.CERT_REQUIRED)
        self.client.reconnect_delay_set(min_delay=1, max_delay=30)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self.client.on_unsubscribe = self._on_unsubscribe
        self.keepalive_s = keepalive_s

    def start(self) -> None:
        # connect_async + loop_start: the network thread keeps retrying with backoff.
        self.client.connect_async(
            self.address.host, self.address.port, keepalive=self.keepalive_s,
            clean_start=False if self.mqtt5 else mqtt.MQTT_CLEAN_START_FIRST_ONLY,
            properties=self._connect_props,
        )
        self.client.loop_start()

    def wait_subscribed(self, timeout: float | None = None) -> bool:
        return self._subscribed.wait(timeout)

    def stop(self, end_session: bool = False) -> None:
        """Disconnect; `end_session` also deletes the broker-side session (MQTT 5)."""
        self._stopping = True
        if end_session and self.mqtt5:
            props = Properties(PacketTypes.DISCONNECT)
            props.SessionExpiryInterval = 0
            self.client.disconnect(properties=props)
        else:
            self.client.disconnect()
        self.client.loop_stop()

    @property
    def unacked(self) -> int:
        with self._lock:
            return self._unacked

    def wait_retired(self, timeout: float | None = None) -> bool:
        """In retire mode: True once the broker confirmed the unsubscription."""
        return self._left.wait(timeout)

    def ack(self, delivery: Delivery) -> None:
        # A delivery from a previous connection will be redelivered by the broker; acking
        # its old packet id on the new connection could ack a different message.
        if delivery.qos and delivery.generation == self._generation:
            with self._lock:  # count first: the broker may send the next one as soon as it sees this
                self._unacked -= 1
                self._unacked_gauge.set(self._unacked)
            self.client.ack(delivery.mid, delivery.qos)

    def publish(self, topic: str, payload: bytes) -> bool:
        """QoS 1 on this session (receipts to gateways); False when it cannot be queued now."""
        info = self.client.publish(topic, payload, qos=1)
        return info.rc == mqtt.MQTT_ERR_SUCCESS

    # --- paho callbacks: enqueue or record, never raise -------------------------------
    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any,
                    properties: Any = None) -> None:
        try:
            if reason_code.is_failure:
                log.warning("broker refused connection: %s", reason_code)
                return
            with self._lock:
                self._generation += 1
                self._unacked = 0  # the broker resends what the old connection left unacked
            self._warned_down = False
            self._connected.set(1)
            log.info("connected to %s:%s (session present: %s)", self.address.host,
                     self.address.port, getattr(flags, "session_present", None))
            if self.retire:  # leave the group: the broker routes nothing new to this session
                client.unsubscribe(self.topics)
            else:
                client.subscribe([(topic, 1) for topic in self.topics])
        except Exception:
            log.exception("on_connect failed")

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int, reason_codes: Any,
                      properties: Any = None) -> None:
        try:
            failed = [rc for rc in reason_codes if rc.is_failure]
            if failed:
                log.error("subscription refused: %s", failed)
            else:
                self._subscribed.set()
                self._subscribed_gauge.set(1)
        except Exception:
            log.exception("on_subscribe failed")

    def _on_unsubscribe(self, client: mqtt.Client, userdata: Any, mid: int, reason_codes: Any,
                        properties: Any = None) -> None:
        try:
            self._left.set()
        except Exception:
            log.exception("on_unsubscribe failed")

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any,
                       properties: Any = None) -> None:
        try:
            self._connected.set(0)
            self._subscribed_gauge.set(0)
            self._subscribed.clear()
            if not self._warned_down and not self._stopping:  # log unavailability once
                log.warning("disconnected from broker (%s); reconnecting with backoff", reason_code)
                self._warned_down = True
        except Exception:
            log.exception("on_disconnect failed")

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            if message.qos:
                with self._lock:
                    self._unacked += 1
                    self.max_unacked = max(self.max_unacked, self._unacked)
                    self._unacked_gauge.set(self._unacked)
            try:
                topic = message.topic
            except UnicodeDecodeError:  # judged (and quarantined) as a bad topic, not dropped
                topic = bytes(message._topic).decode("utf-8", "replace")
            delivery = Delivery(
                topic=topic, payload=bytes(message.payload), mid=message.mid, qos=message.qos,
                generation=self._generation, received_s=time.time(), retain=bool(message.retain),
            )
            # Blocking here (queue full) stops reading the socket: TCP back-pressure on top of
            # Receive Maximum, for brokers or protocol versions that do not honour it. Never past
            # stop(): a consumer that has stopped would leave this thread, and stop(), waiting.
            while True:
                try:
                    self.deliveries.put(delivery, timeout=0.5)
                    break
                except queue.Full:
                    if self._stopping:
                        log.info("stopping with the queue full: %s left unacknowledged for redelivery", topic[:120])
                        return
        except Exception:
            log.exception("dropping a delivery that could not be queued; it stays unacknowledged")
