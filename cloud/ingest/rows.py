"""Pure core of ingest: judge one MQTT message and turn accepted ones into table rows.

No broker or database here. A batch of messages becomes column lists (for
``unnest``) per event table plus the few gateway-state updates; a message that
fails the wire contract becomes a `Rejection` and never touches its neighbours.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from typing import Any

from protocol import (
    LIMITS,
    Alert,
    AppliedConfig,
    DecodeError,
    Frame,
    GatewayStatus,
    Health,
    Kind,
    ReleaseState,
    Telemetry,
    Weighing,
    decode,
    parse_topic,
)
from protocol.codec import FRAME_MAGIC
from protocol.topics import DOWNLINK_KINDS

QUARANTINE_PAYLOAD_BYTES = 64 * 1024  # keep enough to debug, not a whole oversized frame


@dataclass(frozen=True)
class Rejection:
    topic: str
    gateway_id: str | None
    reason: str
    detail: str
    size: int
    payload: bytes
    seq: int | None = None  # the wire identity when it could be read: the message is receipted


@dataclass(frozen=True)
class Accepted:
    kind: Kind
    gateway_id: str
    message: Any
    event_ms: int  # newest event time in the message, for the lag metric
    seq: int
    topic: str
    payload: bytes  # kept by reference, for the quarantine should ingest refuse it later

    def reject(self, reason: str, detail: str) -> Rejection:
        """Quarantine an otherwise valid message (foreign house, impossible value, future time)."""
        return Rejection(self.topic[:512], self.gateway_id, reason,
                         detail[:1000], len(self.payload), bytes(self.payload[:QUARANTINE_PAYLOAD_BYTES]),
                         self.seq)


@dataclass(frozen=True)
class Ignored:
    """Not ours to store: what the cloud itself publishes (desired config, receipts; ACLs keep
    gateways off those topics)."""

    topic: str
    kind: Kind


Judged = Accepted | Rejection | Ignored


def judge(topic: str, payload: bytes) -> Judged:
    """Decode one message against the wire contract; never raises for bad input."""
    gateway_id: str | None = None
    try:
        parsed = parse_topic(topic)
        gateway_id = parsed.gateway_id
        if parsed.kind in DOWNLINK_KINDS:
            return Ignored(topic, parsed.kind)
        message = decode(parsed.kind, payload)
        sender = message.meta.gateway_id if isinstance(message, Frame) else message.gateway_id
        if sender != parsed.gateway_id:
            raise DecodeError(
                "gateway_mismatch", f"payload gateway_id {sender!r:.70} on topic of {parsed.gateway_id!r}"
            )
        seq = message.meta.seq if isinstance(message, Frame) else message.seq
        return Accepted(parsed.kind, parsed.gateway_id, message, _event_ms(message), seq, topic, payload)
    except DecodeError as exc:
        return Rejection(
            topic=topic[:512],
            gateway_id=gateway_id,
            reason=exc.reason,
            detail=exc.detail[:1000],
            size=len(payload),
            payload=bytes(payload[:QUARANTINE_PAYLOAD_BYTES]),
            seq=None if gateway_id is None else lenient_seq(payload),
        )


_FRAME_PREFIX = struct.Struct(">4sBH")


def lenient_seq(payload: bytes) -> int | None:
    """The `seq` of a message that failed the contract, when one can still be read.

    Such a message is quarantined and receipted like a stored one: the gateway then stops
    resending something the cloud will never accept, and its watermark is not held up."""
    try:
        body = bytes(payload)
        if body.startswith(FRAME_MAGIC) and len(body) >= _FRAME_PREFIX.size:
            _, _, header_len = _FRAME_PREFIX.unpack_from(body)
            body = body[_FRAME_PREFIX.size : _FRAME_PREFIX.size + min(header_len, LIMITS.max_frame_header_bytes)]
        elif len(body) > LIMITS.max_json_bytes:
            return None
        document = json.loads(body)
    except (ValueError, RecursionError, struct.error):
        return None
    seq = document.get("seq") if isinstance(document, dict) else None
    return seq if type(seq) is int and 0 <= seq < 2**63 else None


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
    release_states: list[ReleaseState] = field(default_factory=list)
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
        elif isinstance(message, (GatewayStatus, Alert, AppliedConfig, ReleaseState)):
            self.events.append(
                (message.ts, message.gateway_id, message.seq, item.kind.value,
                 message.model_dump_json(exclude_none=True))
            )
            if isinstance(message, GatewayStatus):
                self.statuses.append(message)
            elif isinstance(message, AppliedConfig):
                self.applied.append(message)
            elif isinstance(message, ReleaseState):
                self.release_states.append(message)

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
