"""Pure core of ingest: judge one MQTT message and turn accepted ones into table rows.

No broker or database here. A batch of messages becomes column lists (for
``unnest``) per event table plus the few gateway-state updates; a message that
fails the wire contract becomes a `Rejection` and never touches its neighbours.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from protocol import (
    Alert,
    AppliedConfig,
    DecodeError,
    Frame,
    GatewayStatus,
    Health,
    Kind,
    Telemetry,
    Weighing,
    decode,
    parse_topic,
)

QUARANTINE_PAYLOAD_BYTES = 64 * 1024  # keep enough to debug, not a whole oversized frame


@dataclass(frozen=True)
class Rejection:
    topic: str
    gateway_id: str | None
    reason: str
    detail: str
    size: int
    payload: bytes


@dataclass(frozen=True)
class Accepted:
    kind: Kind
    gateway_id: str
    message: Any
    event_ms: int  # newest event time in the message, for the lag metric


@dataclass(frozen=True)
class Ignored:
    """Not ours to store: desired config, which the cloud itself publishes (ACLs keep gateways off it)."""

    topic: str
    kind: Kind


Judged = Accepted | Rejection | Ignored


def judge(topic: str, payload: bytes) -> Judged:
    """Decode one message against the wire contract; never raises for bad input."""
    gateway_id: str | None = None
    try:
        parsed = parse_topic(topic)
        gateway_id = parsed.gateway_id
        if parsed.kind is Kind.CONFIG_DESIRED:
            return Ignored(topic, parsed.kind)
        message = decode(parsed.kind, payload)
        sender = message.meta.gateway_id if isinstance(message, Frame) else message.gateway_id
        if sender != parsed.gateway_id:
            raise DecodeError(
                "gateway_mismatch", f"payload gateway_id {sender!r:.70} on topic of {parsed.gateway_id!r}"
            )
        return Accepted(parsed.kind, parsed.gateway_id, message, _event_ms(message))
    except DecodeError as exc:
        return Rejection(
            topic=topic[:512],
            gateway_id=gateway_id,
            reason=exc.reason,
            detail=exc.detail[:1000],
            size=len(payload),
            payload=bytes(payload[:QUARANTINE_PAYLOAD_BYTES]),
        )


def _event_ms(message: Any) -> int:
    if isinstance(message, Telemetry):
        return max(point.ts for point in message.points)
    if isinstance(message, Weighing):
        return max((w.ts for w in message.weights), default=message.sent_at)
    if isinstance(message, Frame):
        return int(message.meta.ts)
    return int(message.ts)


@dataclass
class Columns:
    """Column-wise rows for one event table, ready for ``unnest``."""

    names: tuple[str, ...]
    data: list[list[Any]] = field(init=False)

    def __post_init__(self) -> None:
        self.data = [[] for _ in self.names]

    def __len__(self) -> int:
        return len(self.data[0])


READING_COLUMNS = ("ts", "gateway_id", "seq", "idx", "house_id", "sensor_id", "metric", "value", "quality")
WEIGHING_COLUMNS = ("ts", "gateway_id", "seq", "idx", "house_id", "scale_id", "grams", "dwell_s")


@dataclass
class FrameRow:
    ts_ms: int
    gateway_id: str
    seq: int
    camera_id: str
    house_id: str | None
    width: int
    height: int
    trigger: str
    jpeg: bytes
    sha256: str | None


@dataclass
class RowBatch:
    readings: Columns = field(default_factory=lambda: Columns(READING_COLUMNS))
    weighings: Columns = field(default_factory=lambda: Columns(WEIGHING_COLUMNS))
    summaries: list[tuple[Any, ...]] = field(default_factory=list)
    frames: list[FrameRow] = field(default_factory=list)
    health: list[Health] = field(default_factory=list)
    events: list[tuple[int, str, int, str, str]] = field(default_factory=list)  # ts, gw, seq, kind, json
    statuses: list[GatewayStatus] = field(default_factory=list)
    applied: list[AppliedConfig] = field(default_factory=list)
    last_seen: dict[str, int] = field(default_factory=dict)
    rejections: list[Rejection] = field(default_factory=list)

    def add(self, item: Judged) -> None:
        if isinstance(item, Ignored):
            return
        if isinstance(item, Rejection):
            self.rejections.append(item)
            return
        seen = self.last_seen.get(item.gateway_id)
        if seen is None or item.event_ms > seen:
            self.last_seen[item.gateway_id] = item.event_ms
        message = item.message
        if isinstance(message, Telemetry):
            self._add_telemetry(message)
        elif isinstance(message, Weighing):
            self._add_weighing(message)
        elif isinstance(message, Frame):
            meta = message.meta
            self.frames.append(
                FrameRow(meta.ts, meta.gateway_id, meta.seq, meta.camera, meta.house, meta.width,
                         meta.height, meta.trigger, message.jpeg, meta.sha256)
            )
        elif isinstance(message, Health):
            self.health.append(message)
        elif isinstance(message, (GatewayStatus, Alert, AppliedConfig)):
            self.events.append(
                (message.ts, message.gateway_id, message.seq, item.kind.value,
                 message.model_dump_json(exclude_none=True))
            )
            if isinstance(message, GatewayStatus):
                self.statuses.append(message)
            elif isinstance(message, AppliedConfig):
                self.applied.append(message)

    def _add_telemetry(self, message: Telemetry) -> None:
        # Column-wise comprehensions: about 3x faster than appending row by row.
        ts, gw, seq, idx, house, sensor, metric, value, quality = self.readings.data
        points = message.points
        n = len(points)
        ts.extend([p.ts for p in points])
        gw.extend([message.gateway_id] * n)
        seq.extend([message.seq] * n)
        idx.extend(range(n))
        house.extend([p.house for p in points])
        sensor.extend([p.sensor for p in points])
        metric.extend([p.metric._value_ for p in points])  # the plain str, not the enum member
        value.extend([p.value for p in points])
        quality.extend([p.quality for p in points])

    def _add_weighing(self, message: Weighing) -> None:
        ts, gw, seq, idx, house, scale, grams, dwell = self.weighings.data
        for i, weight in enumerate(message.weights):
            ts.append(weight.ts)
            gw.append(message.gateway_id)
            seq.append(message.seq)
            idx.append(i)
            house.append(message.house)
            scale.append(message.scale)
            grams.append(weight.g)
            dwell.append(weight.dwell_s)
        for summary in message.summaries:
            self.summaries.append(
                (message.gateway_id, message.scale, summary.date, summary.house or message.house,
                 summary.count, summary.mean_g, summary.median_g, summary.sd_g, summary.cv_pct,
                 summary.uniformity_pct, summary.expected_g, message.seq)
            )

    @property
    def accepted_rows(self) -> int:
        return (len(self.readings) + len(self.weighings) + len(self.summaries) + len(self.frames)
                + len(self.health) + len(self.events))
