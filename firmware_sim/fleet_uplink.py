"""Fleet mode on the wire: what each simulated gateway would publish, and a paho shell.

`FleetUplink` (pure) turns fleet ticks into (topic, payload, retain) messages the way the
edge does: per-gateway monotonically increasing seq, telemetry held back while the gateway's
network is down and released oldest-first when it returns, nothing while it has no power
(the broker's last will says offline), retained online status when it comes back.
`publish_fleet` sends them with paho at QoS 1 from one connection.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from firmware_sim.clock import MS_PER_S
from firmware_sim.fleet import Fleet, FleetTick, telemetry
from protocol import GatewayStatus, Kind, encode, topic_for

log = logging.getLogger(__name__)
SOFTWARE = "firmware_sim-fleet"


@dataclass(frozen=True)
class Outgoing:
    topic: str
    payload: bytes
    retain: bool = False


@dataclass
class _GatewayState:
    seq: int = 0
    powered: bool | None = None
    backlog: deque[Outgoing] = field(default_factory=deque)


@dataclass
class UplinkStats:
    telemetry: int = 0
    status: int = 0
    held_back: int = 0
    released: int = 0
    dropped: int = 0


class FleetUplink:
    def __init__(self, *, backlog_cap: int = 10_000) -> None:
        self.backlog_cap = backlog_cap
        self.gateways: dict[str, _GatewayState] = {}
        self.stats = UplinkStats()

    def _next_seq(self, st: _GatewayState) -> int:
        st.seq += 1
        return st.seq

    def step(self, tick: FleetTick) -> list[Outgoing]:
        out: list[Outgoing] = []
        for gt in tick.gateways:
            st = self.gateways.setdefault(gt.gateway_id, _GatewayState())
            if gt.powered != st.powered:
                state = "online" if gt.powered else "offline"
                reason = None if gt.powered else "power_loss"
                status = GatewayStatus(gateway_id=gt.gateway_id, seq=self._next_seq(st), ts=gt.ts_ms,
                                       state=state, software=SOFTWARE, reason=reason)
                out.append(Outgoing(topic_for(gt.gateway_id, Kind.STATUS), encode(status), True))
                self.stats.status += 1
                st.powered = gt.powered
            if not gt.powered:
                continue
            msg = telemetry(gt, self._next_seq(st))
            if msg is not None:
                item = Outgoing(topic_for(gt.gateway_id, Kind.TELEMETRY), encode(msg))
                self.stats.telemetry += 1
                if gt.network_up:
                    while st.backlog:
                        out.append(st.backlog.popleft())
                        self.stats.released += 1
                    out.append(item)
                else:
                    st.backlog.append(item)
                    self.stats.held_back += 1
                    if len(st.backlog) > self.backlog_cap:
                        st.backlog.popleft()
                        self.stats.dropped += 1
        return out


def publish_fleet(
    fleet: Fleet,
    *,
    host: str,
    port: int,
    ticks: int,
    interval_s: float = 60.0,
    speed: float | None = None,
    username: str | None = None,
    password: str | None = None,
    mqtt_v5: bool = True,
    start_ms: int | None = None,
    inflight: int = 1000,
) -> dict[str, Any]:
    """Publish `ticks` ticks of the fleet; pace at `speed` × real time (None = max)."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2,
                         client_id=f"fhy-fleet-{int(time.time() * 1000) % 10**9}",
                         protocol=mqtt.MQTTv5 if mqtt_v5 else mqtt.MQTTv311)
    if username:
        client.username_pw_set(username, password)
    client.max_inflight_messages_set(inflight)
    client.max_queued_messages_set(0)
    client.connect(host, port)
    client.loop_start()
    uplink = FleetUplink()
    sent = 0
    started = time.perf_counter()
    try:
        for n, tick in enumerate(fleet.ticks(interval_s=interval_s, count=ticks, start_ms=start_ms)):
            infos = [client.publish(m.topic, m.payload, qos=1, retain=m.retain)
                     for m in uplink.step(tick)]
            sent += len(infos)
            _wait_all(infos)
            if speed is not None:
                due = started + (n + 1) * interval_s / speed
                time.sleep(max(0.0, due - time.perf_counter()))
    finally:
        client.loop_stop()
        client.disconnect()
    wall = time.perf_counter() - started
    s = uplink.stats
    return {
        "gateways": len(fleet), "ticks": ticks, "interval_s": interval_s, "published": sent,
        "telemetry": s.telemetry, "status": s.status, "held_back": s.held_back,
        "released": s.released, "dropped": s.dropped, "wall_s": round(wall, 3),
        "messages_per_s": round(sent / wall) if wall > 0 else None,
        "speedup_vs_real_time": round(ticks * interval_s * MS_PER_S / 1000.0 / wall, 1) if wall else None,
    }


def _wait_all(infos: Iterable[Any], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    for info in infos:
        info.wait_for_publish(max(0.1, deadline - time.monotonic()))
