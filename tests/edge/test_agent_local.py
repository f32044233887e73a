"""Agent behaviour without a broker: daily weighing summaries, health, the outbox CLI; and the
uplink's TLS + per-gateway login against a real mosquitto."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from edge.config import MqttSettings
from edge.uplink import Connected, Uplink
from fuhuiyang.commands.edge import edge
from protocol import Kind, decode
from tests.edge.harness import ManualClock
from tests.edge.test_agent_broker import gateway_doc, make_agent

H = 3_600_000


def rows(agent: Any, kind: str) -> list[Any]:
    return [decode(Kind(r.kind), r.payload) for r in agent.outbox.peek(10_000) if r.kind == kind]


def test_daily_summary_after_local_midnight_survives_a_restart(tmp_path: Path) -> None:
    # 20:00 local (+08:00) two days ago: visits 100 s apart run past midnight; the agent
    # restarts at 22:00, and the summary still covers the whole day.
    local_8pm = (int(time.time() * 1000) // 86_400_000 - 2) * 86_400_000 + 12 * H  # in the past
    clock = ManualClock(local_8pm)
    doc = gateway_doc(1, tmp_path / "gw")
    agent, outbox, _ = make_agent(doc, clock, frames_every_ms=10**12)
    while clock.now < local_8pm + 2 * H:  # never started: nothing leaves, all stays queued
        clock.now += 10_000
        agent.step()
    agent.shutdown()
    outbox.close()
    agent, outbox, _ = make_agent(doc, clock, frames_every_ms=10**12)
    try:
        while clock.now < local_8pm + 6 * H:
            clock.now += 10_000
            agent.step()
        weighings = rows(agent, "weighing")
        summaries = [s for m in weighings for s in m.summaries]
        weights = [w for m in weighings for w in m.weights]
        assert len(summaries) == 1  # the day that ended at midnight, sent once after 00:30
        s = summaries[0]
        before_midnight = [w.g for w in weights if w.ts < local_8pm + 4 * H]
        assert s.count == len(before_midnight) > 100
        assert any(w.ts < local_8pm + 2 * H for w in weights) and any(w.ts > local_8pm + 2 * H for w in weights)
        assert s.mean_g == pytest.approx(sum(before_midnight) / len(before_midnight), abs=0.05)
        assert 1500 < s.median_g < 1640 and s.expected_g and s.uniformity_pct == 100.0
        health = rows(agent, "health")
        assert health and health[-1].outbox.depth > 0 and health[-1].software == "test"
        assert {x.sensor for x in health[-1].sensors} == {"th1"}
    finally:
        outbox.close()

    result = CliRunner().invoke(edge, ["outbox", "--db", str(tmp_path / "gw" / "outbox.db"), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["depth"] == sum(report["depth_by_class"].values()) > 0
    assert report["oldest_age_s"] > 0 and report["drops"] == {}


@pytest.fixture
def tls_broker(mosquitto_factory: Callable[..., Any]) -> Iterator[tuple[Any, Path, int]]:
    # mosquitto started as root drops to its own user: the files must be readable by it.
    work = Path(tempfile.mkdtemp(prefix="fhy-tls-"))
    work.chmod(0o755)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(work / "key.pem"), "-out", str(work / "cert.pem")],
                   check=True, capture_output=True)
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(work / "passwd"), "gw-tls", "s3cret"],
                   check=True, capture_output=True)
    for f in work.iterdir():
        f.chmod(0o644)
    from fuhuiyang.services.net import free_port

    tls_port = free_port()
    broker = mosquitto_factory(
        f"allow_anonymous false\npassword_file {work / 'passwd'}\n"
        f"listener {tls_port} 127.0.0.1\ncertfile {work / 'cert.pem'}\nkeyfile {work / 'key.pem'}\n")
    from fuhuiyang.services.net import wait_for_port

    wait_for_port("127.0.0.1", tls_port, 10)
    yield broker, work / "cert.pem", tls_port
    shutil.rmtree(work, ignore_errors=True)


def wait_event(uplink: Uplink, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return uplink.events.get(timeout=0.2)
        except Exception:
            continue
    return None


def test_uplink_tls_with_gateway_login(tls_broker: tuple[Any, Path, int], monkeypatch: pytest.MonkeyPatch,
                                       caplog: pytest.LogCaptureFixture) -> None:
    _, ca, port = tls_broker
    monkeypatch.setenv("FHY_TEST_GW_PASSWORD", "s3cret")
    settings = MqttSettings(port=port, tls=True, ca_file=ca, username="gw-tls", password_env="FHY_TEST_GW_PASSWORD",
                            backoff_min_s=0.1, backoff_max_s=0.3)
    good = Uplink(settings, "gw-tls")
    good.start()
    try:
        ev = wait_event(good, 15)
        assert isinstance(ev, Connected), ev
        assert good.publish("fhy/v1/gw-tls/telemetry", b"{}") is not None
    finally:
        good.stop()

    monkeypatch.setenv("FHY_TEST_GW_PASSWORD", "wrong")
    caplog.set_level(logging.WARNING, logger="edge.uplink")
    bad = Uplink(settings, "gw-tls")
    bad.start()
    try:
        assert wait_event(bad, 3) is None  # refused: never connected
        assert not bad.connected
    finally:
        bad.stop()
    unavailable = [r for r in caplog.records if "unavailable" in r.getMessage()]
    assert len(unavailable) == 1  # logged once, however many retries
    assert "s3cret" not in caplog.text and "wrong" not in caplog.text
    assert os.environ["FHY_TEST_GW_PASSWORD"] == "wrong"


def test_frames_over_the_daily_budget_are_counted_as_outbox_drops(tmp_path: Path) -> None:
    from edge.config import CameraSettings
    from edge.frames import CameraChannel
    from tests.edge.test_frames import MIDNIGHT, Scripted

    clock = ManualClock(MIDNIGHT + 6 * H)
    agent, outbox, _ = make_agent(gateway_doc(1, tmp_path / "gw"), clock)
    # 40 KB a day: a handful of small frames fit, then the budget refuses the rest.
    cam = CameraChannel(CameraSettings(id="cam1", source="x", interval_s=600, check_s=600,
                                       budget_mb_per_day=0.04), Scripted(), utc_offset_h=8.0)
    agent.devices.cameras = [cam]
    try:
        for _ in range(36):  # six hours of 10-minute steps
            clock.now += 600_000
            agent.step()
        assert cam.stats.dropped_budget > 0
        assert outbox.drop_details()["drop:frame:budget"] == cam.stats.dropped_budget
        assert outbox.drop_details()["drop_bytes:frame:budget"] == cam.stats.bytes_dropped
        assert 0 < cam.stats.bytes_queued <= 0.04 * 2**20  # some frames still went, inside the budget
        payloads = [len(r.payload) for r in outbox.peek(10_000) if r.kind == "frame"]
        assert len(payloads) == cam.stats.queued
        assert 0 < sum(payloads) - cam.stats.bytes_queued < 1024 * len(payloads)  # the envelope only
    finally:
        outbox.close()


def test_a_broken_device_or_bad_value_does_not_stop_the_agent(tmp_path: Path) -> None:
    from edge.agent import CapturedFrame

    class Exploding:
        camera_id = "cam9"

        def poll(self, now_ms: int) -> list[CapturedFrame]:
            raise RuntimeError("driver bug")

        def state(self) -> str:
            return "missing"

    class Huge:
        camera_id = "cam8"

        def poll(self, now_ms: int) -> list[CapturedFrame]:  # over the contract's 2 MB frame limit
            return [CapturedFrame(now_ms, "cam8", None, 64, 64, b"\xff\xd8\xff" + bytes(3 * 2**20) + b"\xff\xd9",
                                  "scheduled")]

        def state(self) -> str:
            return "ok"

    clock = ManualClock(int(time.time() * 1000) - 6 * H)
    agent, outbox, _ = make_agent(gateway_doc(1, tmp_path / "gw"), clock)
    agent.devices.cameras = [Exploding(), Huge()]
    try:
        for _ in range(30):
            clock.now += 60_000
            agent.step()
        assert agent.errors == {"camera cam9": 30}
        assert outbox.drop_details()["drop:frame:invalid"] == 30
        kinds = {r.kind for r in outbox.peek(10_000)}
        assert {"telemetry", "weighing", "health"} <= kinds  # everything else carried on
    finally:
        outbox.close()
