"""The gateway's side of receipts: a PUBACK deletes nothing; only the cloud's receipt does.

Issue 23, item 1: a hostile member of ingest's shared group took its share of gw-b's messages,
gw-b got a PUBACK for each and deleted them. Here the agent talks to a real broker whose only
subscriber (standing in for the hostile member) sends no receipts: everything stays in the
outbox and is sent again; once receipts come, the outbox empties.
"""

from __future__ import annotations

import time

from tests.edge.harness import Collector, ManualClock, sensor_agent

GW = "gw-rcpt"


def test_the_agent_deletes_only_after_a_receipt_and_resends_the_unconfirmed(mosquitto_factory, tmp_path) -> None:  # type: ignore[no-untyped-def]
    broker = mosquitto_factory()
    collector = Collector(broker.port, GW, receipts=False)
    clock = ManualClock(int(time.time() * 1000) - 3_600_000)
    agent = sensor_agent(GW, broker.port, tmp_path / "gw", clock, receipt_timeout_s=60)
    outbox = agent.outbox
    agent.start()

    def tick(ms: int) -> None:
        clock.now += ms
        agent.step()

    try:
        assert collector.wait_for(lambda: agent.uplink is not None and agent.uplink.connected, 15, agent.step)
        for _ in range(10):  # ten simulated minutes of telemetry
            tick(60_000)
            time.sleep(0.01)
        queued = {seq for kind, seq in outbox.stored if kind == "telemetry"}
        assert len(queued) >= 9
        assert collector.wait_for(lambda: {s for _, s in collector.keys("telemetry")} >= queued
                                  and outbox.unconfirmed() == outbox.depth, 15, lambda: tick(100))
        # Every message reached the broker and was acknowledged by it; none has left the outbox.
        assert outbox.depth == len(outbox.stored)
        assert outbox.state(clock.now).held_from == min(seq for _, seq in outbox.stored)
        before = collector.duplicates
        assert collector.wait_for(lambda: collector.duplicates >= before + len(queued), 15, lambda: tick(5_000)), \
            "unconfirmed messages were not sent again after the receipt timeout"
        assert outbox.depth == len(outbox.stored)

        collector.receipts = True  # the cloud now stores and receipts what it gets
        assert collector.wait_for(lambda: outbox.depth == 0, 30, lambda: tick(5_000)), outbox.depth_by_class()
        assert {s for _, s in collector.keys("telemetry")} >= queued
        assert collector.conflicts == 0  # a resent seq carries the identical payload
    finally:
        agent.shutdown()
        outbox.close()
        collector.close()
