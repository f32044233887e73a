"""A gateway's retained publishes are not ingested again when a subscription is made anew (issue 23,
item 6): the broker replays its retained store to every new subscription (MQTT 3.1.1 mode, one
plain `fhy/#` subscriber); ingest skips deliveries flagged retain, counts and logs them."""

from __future__ import annotations

from cloud.ingest.metrics import IngestMetrics
from protocol import Kind, encode, topic_for
from tests.cloud.conftest import count, running_ingest, telemetry, wait_until
from tests.security.conftest import SecuredBroker
from tests.security.sessions import Session


def handled(metrics: IngestMetrics) -> float:
    """Deliveries ingest has finished with: ingested (any kind, quarantined included) or skipped."""
    received = sum(sample.value for family in metrics.received.collect() for sample in family.samples
                   if sample.name == "fhy_ingest_messages_received_total")
    return received + (metrics.registry.get_sample_value("fhy_ingest_retained_skipped_total") or 0)


def test_d_retained_gateway_messages_are_stored_once(secured: SecuredBroker, tmp_path) -> None:
    with secured.provisioner() as prov:
        gw = prov.register("farm-a", "gw-a")
        ingest_password = prov.add_service_account("ingest-1", "ingest")
    url = secured.url("ingest-1", ingest_password)

    with running_ingest(secured.db, url, tmp_path, client_id="ingest-v3-1", mqtt5=False) as (_, first, _sub):
        gateway = Session(secured.port, "gw-a", gw.password, "gw-a")
        good = encode(telemetry("gw-a", 7, points=1, house="house-a"))
        assert not gateway.publish(topic_for("gw-a", Kind.TELEMETRY), good, retain=True).is_failure
        assert not gateway.publish(topic_for("gw-a", Kind.HEALTH), b"\xff not json", retain=True).is_failure
        gateway.close()
        wait_until(lambda: count(secured.db, "SELECT count(*) FROM readings") == 1
                   and count(secured.db, "SELECT count(*) FROM quarantine") == 1, what="both ingested once")
        assert first.registry.get_sample_value("fhy_ingest_retained_skipped_total") == 0

    # A new subscription: the broker sends both retained messages again, flagged retain.
    with running_ingest(secured.db, url, tmp_path, client_id="ingest-v3-2", mqtt5=False) as (_, second, _sub):
        wait_until(lambda: handled(second) == 2, what="the broker's two retained replays handled by ingest")
        assert count(secured.db, "SELECT count(*) FROM quarantine") == 1  # not quarantined again
        assert count(secured.db, "SELECT count(*) FROM readings") == 1
        assert second.registry.get_sample_value("fhy_ingest_retained_skipped_total") == 2
