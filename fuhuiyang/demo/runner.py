"""The regional demo's main loop: simulated farms → edge agents → broker → cloud, in event time.

Every `STEP` of simulated time each gateway's agent takes one step against its simulated
devices. Every `ALERT_EVERY` the loop waits for the cloud to hold everything the gateways have
had acknowledged (a barrier: a sentinel message behind them must land), then runs one alert
cycle at that event time, so alerts are judged on what a live system would have by then.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

import protocol
from cloud.notify.settings import SmsSettings
from firmware_sim.clock import SimClock
from firmware_sim.events import EventSpec
from firmware_sim.scenario import Scenario, load_scenario
from firmware_sim.world import World
from fuhuiyang.demo.farmers import FarmerBook
from fuhuiyang.demo.gateways import DemoGateway, build_gateways
from fuhuiyang.demo.seed import DemoLogin, farmer_login, seed
from fuhuiyang.demo.sms_sink import SmsSink
from fuhuiyang.demo.stack import Stack
from fuhuiyang.demo.summary import summarise
from fuhuiyang.heartbeats import heartbeat, wait_stored
from fuhuiyang.processes.alerts import build_worker

log = logging.getLogger(__name__)

STEP_MS = 900_000  # 15 simulated minutes
ALERT_EVERY_MS = 3 * 3_600_000
BARRIER_GATEWAY = "demo-barrier"

# Added to the scenario's own timeline so the demo shows what the platform is for: an HPAI-like
# outbreak moving through three farms of one township, and ammonia building up in a closed house.
DEMO_EVENTS = (
    EventSpec(type="hpai", farms=("F18",), start_day=19),
    EventSpec(type="hpai", farms=("F19",), start_day=20),
    EventSpec(type="ventilation_failure", farms=("F14",), start_day=24, hours=30, name="ammonia build-up"),
)


def demo_scenario(days: int) -> Scenario:
    base = load_scenario("demo_region")
    return base.model_copy(update={"days": max(days, 1), "events": (*base.events, *DEMO_EVENTS)})


@dataclass
class Counters:
    readings_published: int = 0
    alert_cycles: int = 0
    gateways_s: float = 0.0
    barrier_s: float = 0.0
    alerts_s: float = 0.0
    started: float = field(default_factory=time.monotonic)


class Barrier:
    """Publishes a sentinel after the gateways' messages and waits until ingest has stored it.

    With one ingest worker the broker delivers in the order it accepted, so once the sentinel is
    in the database everything acknowledged before it is too.
    """

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"demo-barrier-{uuid.uuid4().hex[:6]}")
        self.client.connect(stack.broker.host, stack.broker.port)
        self.client.loop_start()
        self.seq = 0

    def wait(self, ts_ms: int, timeout_s: float = 30.0) -> bool:
        self.seq += 1
        beat = heartbeat(BARRIER_GATEWAY, self.seq, ts_ms, software="demo")
        info = self.client.publish(protocol.topic_for(BARRIER_GATEWAY, "health"), beat, qos=1)
        info.wait_for_publish(timeout_s)
        with self.stack.connect(autocommit=True) as conn:
            if wait_stored(conn, BARRIER_GATEWAY, self.seq, timeout_s):
                return self._judged(conn, timeout_s)
        log.warning("barrier %s not seen within %.0f s", self.seq, timeout_s)
        return False

    def _judged(self, conn: psycopg.Connection, timeout_s: float) -> bool:
        """Wait until the detection worker has judged every stored frame (when one runs)."""
        if not self.stack.alive("detect"):
            return True
        deadline = time.monotonic() + timeout_s
        while True:
            row = conn.execute("SELECT (SELECT count(*) FROM frames) - (SELECT count(*) FROM detection_frames)"
                               ).fetchone()
            if row is None or row[0] <= 0:
                return True
            if time.monotonic() > deadline:
                log.warning("detection is %s frames behind", row[0])
                return False
            time.sleep(0.05)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def _count_readings(gateway: DemoGateway, counters: Counters) -> None:
    sampler = gateway.agent.sampler
    emit = sampler.on_reading

    def counted(reading: protocol.Reading) -> None:
        counters.readings_published += 1
        emit(reading)

    sampler.on_reading = counted


def _drain(gateways: list[DemoGateway], now_ms: int, timeout_s: float = 60.0) -> None:
    """Let every linked gateway empty its outbox (after outages the backlog goes oldest first)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        pending = [g for g in gateways if g.linked and g.agent.outbox.depth > 0]
        if not pending:
            return
        for g in pending:
            g.agent.pump(now_ms)
        time.sleep(0.01)


def run_demo(stack: Stack, days: int, speed: str, progress: Callable[[str], None],
             workdir: Path) -> tuple[dict[str, object], list[DemoLogin]]:
    scenario = demo_scenario(days)
    with stack.connect() as conn:
        logins = seed(conn, scenario)
        conn.commit()
    world = World(scenario)
    clock = SimClock(world.start_ms, speed)
    gateways = build_gateways(world, clock, stack.broker, workdir / "gateways")
    counters = Counters()
    for gateway in gateways:
        _count_readings(gateway, counters)
    farmers = FarmerBook(f"http://127.0.0.1:{stack.api_port}", world,
                         {f.farm.id: farmer_login(f.farm.id) for f in world.farms}, logins[0].password)
    sink = SmsSink(workdir / "sms.jsonl")
    sink.start()
    barrier = Barrier(stack)
    alert_conn = stack.connect()
    # SMS through the real Aliyun adapter to a local fake that enforces Aliyun's rules.
    provider = sink.aliyun(lambda: datetime.fromtimestamp(clock.now_ms() / 1000, tz=UTC))
    worker = build_worker(alert_conn, provider, SmsSettings(provider="aliyun"))
    end_ms = world.start_ms + days * 86_400_000
    next_alerts = world.start_ms + ALERT_EVERY_MS
    try:
        while clock.now_ms() < end_ms:
            now = clock.advance(STEP_MS)
            t0 = time.monotonic()
            for gateway in gateways:
                gateway.step(now)
            farmers.observe()
            t1 = time.monotonic()
            counters.gateways_s += t1 - t0
            if now >= next_alerts:
                _drain(gateways, now, timeout_s=5.0)
                barrier.wait(now)
                t2 = time.monotonic()
                worker.cycle(datetime.fromtimestamp(now / 1000, tz=UTC))
                counters.barrier_s += t2 - t1
                counters.alerts_s += time.monotonic() - t2
                counters.alert_cycles += 1
                next_alerts += ALERT_EVERY_MS
            if (now - world.start_ms) % 86_400_000 == 0:
                day = (now - world.start_ms) // 86_400_000
                progress(f"day {day}/{days}: {counters.readings_published:,} readings, "
                         f"{len(sink.messages)} SMS, {time.monotonic() - counters.started:.0f} s")
        for gateway in gateways:  # outages end with the run: every backlog goes up
            if not gateway.linked:
                gateway.agent.start()
                gateway.linked = True
        time.sleep(1.0)
        _drain(gateways, clock.now_ms())
        barrier.wait(clock.now_ms(), timeout_s=120)
        worker.cycle(datetime.fromtimestamp(clock.now_ms() / 1000, tz=UTC))
        summary = summarise(stack, world, scenario, gateways, counters, sink, days)
        summary["daily_records_entered"] = farmers.entered
        summary["daily_records_failed"] = farmers.failed
        summary["sms_refused_by_provider"] = sink.refused
    finally:
        for gateway in gateways:
            gateway.close()
        barrier.close()
        alert_conn.close()
        sink.stop()
    return summary, logins
