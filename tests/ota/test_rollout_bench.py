"""The must-show at small size against the real broker, database, ingest and API: a broken
release stops at its first stage and every gateway that took it is back by itself; a good one
reaches every gateway, including those offline while it rolled out."""

from __future__ import annotations

from pathlib import Path

from fuhuiyang.bench.rollout import run_rollout
from fuhuiyang.services.mqtt import BrokerEndpoint
from tests.support.databases import TestDatabase


def test_bench_rollout_small(db: TestDatabase, mqtt_broker: BrokerEndpoint, tmp_path: Path) -> None:
    result = run_rollout(db.url, db.schema, mqtt_broker.host, mqtt_broker.port, gateways=24,
                         offline_share=0.1, health_deadline_s=15.0, timeout_s=300, workdir=tmp_path)
    assert result["gateways"] == 24
    assert result["broken_state"] == "halted" and result["broken_stopped_at_stage"] == 1
    assert 1 <= result["took_broken"] <= 5  # only pilots
    assert result["rolled_back"] == result["took_broken"] == result["rolled_back_reported"]
    assert result["good_reached"] == 24 == result["good_healthy_reported"]
    assert result["offline_during_rollout"] >= 2 and result["offline_reached"] == result["offline_during_rollout"]
