"""The roles that stop a hostile gateway still let the real clients do their work: the edge agent's
uplink (own client id, retained last will, telemetry, its desired config, its delivery receipts),
ingest's receipts and the API's config publisher, each under the login provisioning gave it."""

from __future__ import annotations

import queue

from edge.config import MqttSettings
from edge.uplink import Ack, Connected, Event, Inbound, Uplink
from messaging.broker import BrokerAddress
from messaging.publisher import MqttConfigPublisher
from protocol import Kind, encode, topic_for
from tests.cloud.conftest import telemetry, wait_until
from tests.security.sessions import Session


def next_event(events: queue.Queue[Event], kind: type, timeout: float = 15.0) -> Event:
    while True:
        event = events.get(timeout=timeout)
        if isinstance(event, kind):
            return event


def test_edge_uplink_and_config_publisher_work_under_their_roles(secured, monkeypatch) -> None:
    with secured.provisioner() as prov:
        gw = prov.register("farm-a", "gw-a")
        api_password = prov.add_service_account("cloud-api", "publisher")
        reader_password = prov.add_service_account("reader-1", "reader")
        ingest_password = prov.add_service_account("ingest-1", "ingest")
    reader = Session(secured.port, "reader-1", reader_password, "reader-1")
    assert not reader.subscribe("fhy/#")[0].is_failure

    monkeypatch.setenv("FHY_TEST_GATEWAY_PASSWORD", gw.password)
    uplink = Uplink(MqttSettings(port=secured.port, username="gw-a", password_env="FHY_TEST_GATEWAY_PASSWORD",
                                 backoff_min_s=0.1), "gw-a")
    uplink.set_will(topic_for("gw-a", Kind.STATUS), b"offline")  # retained will on its own status topic
    uplink.start()
    try:
        connected = next_event(uplink.events, Connected)
        assert isinstance(connected, Connected) and connected.protocol == "5"
        assert uplink.subscribe(topic_for("gw-a", Kind.CONFIG_DESIRED))
        sent = uplink.publish(topic_for("gw-a", Kind.TELEMETRY), encode(telemetry("gw-a", 1, points=1,
                                                                                  house="house-a")))
        assert sent is not None
        ack = next_event(uplink.events, Ack)
        assert isinstance(ack, Ack) and ack.ok and ack.mid == sent[1]

        MqttConfigPublisher(BrokerAddress.parse(secured.url("cloud-api", api_password))).publish(
            topic_for("gw-a", Kind.CONFIG_DESIRED), b'{"version": 2}')
        inbound = next_event(uplink.events, Inbound)
        assert isinstance(inbound, Inbound) and inbound.payload == b'{"version": 2}'
        wait_until(lambda: any(topic == topic_for("gw-a", Kind.TELEMETRY) for topic, _, _ in reader.messages),
                   what="the gateway's telemetry at a cloud reader")

        # Delivery receipts: ingest may publish them, the gateway reads its own. The uplink's
        # subscribe does not wait for its SUBACK, so the receipt is sent until one arrives.
        assert uplink.subscribe(topic_for("gw-a", Kind.RECEIPT))
        ingest = Session(secured.port, "ingest-1", ingest_password, "ingest-1")
        try:
            receipt: Event | None = None
            for _ in range(10):
                ingest.publish(topic_for("gw-a", Kind.RECEIPT), b"receipt-for-gw-a")
                try:
                    receipt = next_event(uplink.events, Inbound, timeout=1.5)
                    break
                except queue.Empty:
                    continue
            assert isinstance(receipt, Inbound) and receipt.payload == b"receipt-for-gw-a"
        finally:
            ingest.close()
    finally:
        uplink.stop()
        reader.close()
