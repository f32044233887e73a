"""Payload schemas, v1.

Every message carries ``v`` ("<major>.<minor>"), ``gateway_id`` and a per-gateway
``seq`` that increases monotonically across restarts; ``(gateway_id, seq)`` is the
message identity the cloud deduplicates on. Event times are integer milliseconds
since the Unix epoch (UTC), set by the device, never by the receiver.

Minor versions only add optional fields, so a decoder accepts every 1.x and
ignores fields it does not know. History:
  1.0  first release
  1.1  Reading.quality, Weight.dwell_s, Health.clock_offset_s
  1.2  Receipt (cloud -> gateway); OutboxState.unconfirmed and held_from
  1.3  ReleaseDesired (cloud -> gateway, retained) and ReleaseState: over-the-air agent updates;
       Alert.alarm, Alert.since and Alert.sms_to: what the gateway's own alarm did offline;
       AlarmAck (cloud -> gateway): a person acknowledged the alarm's alert in the app
"""

from __future__ import annotations

import math
from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from protocol.limits import LIMITS
from protocol.topics import GATEWAY_ID, Kind

SCHEMA_VERSION = "1.3"
MAJOR = 1

# 2000-01-01 .. 2100-01-01 in epoch ms: anything outside is a broken clock or garbage.
MIN_TS_MS = 946_684_800_000
MAX_TS_MS = 4_102_444_800_000

EpochMs = Annotated[int, Field(ge=MIN_TS_MS, lt=MAX_TS_MS, strict=True)]
Seq = Annotated[int, Field(ge=0, lt=2**63, strict=True)]
Ident = Annotated[str, Field(min_length=1, max_length=LIMITS.max_id_length, pattern=GATEWAY_ID.pattern)]
ShortText = Annotated[str, Field(max_length=500)]
# A mobile number as the gateway's modem dials it: E.164 with or without "+".
Phone = Annotated[str, Field(pattern=r"^\+?[0-9]{6,15}$")]


class Metric(StrEnum):
    TEMPERATURE_C = "temperature_c"
    HUMIDITY_PCT = "humidity_pct"
    NH3_PPM = "nh3_ppm"
    CO2_PPM = "co2_ppm"
    LIGHT_LUX = "light_lux"
    WATER_L = "water_l"  # litres drawn in the interval ending at ts


# Physically possible ranges; a reading outside is a sensor fault, not data.
METRIC_RANGES: dict[Metric, tuple[float, float]] = {
    Metric.TEMPERATURE_C: (-50.0, 80.0),
    Metric.HUMIDITY_PCT: (0.0, 100.0),
    Metric.NH3_PPM: (0.0, 1000.0),
    Metric.CO2_PPM: (0.0, 50_000.0),
    Metric.LIGHT_LUX: (0.0, 200_000.0),
    Metric.WATER_L: (0.0, 100_000.0),
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, allow_inf_nan=False)


class Envelope(_Model):
    v: str = SCHEMA_VERSION
    gateway_id: Ident
    seq: Seq

    @field_validator("v")
    @classmethod
    def _known_major(cls, v: str) -> str:
        major, _, minor = v.partition(".")
        if major != str(MAJOR) or not minor.isdigit():
            raise ValueError(f"unsupported schema version {v!r:.20}; this build decodes {MAJOR}.x")
        return v


class Reading(_Model):
    ts: EpochMs
    sensor: Ident
    metric: Metric
    value: float
    house: Ident | None = None
    quality: Literal["ok", "suspect"] = "ok"  # 1.1

    @field_validator("value")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("value must be finite")
        return value


class Telemetry(Envelope):
    sent_at: EpochMs
    points: Annotated[list[Reading], Field(min_length=1, max_length=LIMITS.max_points_per_batch)]


class Weight(_Model):
    ts: EpochMs
    g: Annotated[float, Field(gt=0, lt=20_000)]
    dwell_s: Annotated[float, Field(ge=0, lt=3600)] | None = None  # 1.1


class WeighingSummary(_Model):
    date: date
    house: Ident | None = None
    count: Annotated[int, Field(ge=0)]
    mean_g: Annotated[float, Field(ge=0, lt=20_000)]
    median_g: Annotated[float, Field(ge=0, lt=20_000)]
    sd_g: Annotated[float, Field(ge=0, lt=20_000)]
    cv_pct: Annotated[float, Field(ge=0, le=1000)]
    uniformity_pct: Annotated[float, Field(ge=0, le=100)]
    expected_g: Annotated[float, Field(gt=0, lt=20_000)] | None = None


class Weighing(Envelope):
    sent_at: EpochMs
    scale: Ident
    house: Ident | None = None
    weights: Annotated[list[Weight], Field(max_length=LIMITS.max_weights_per_message)] = []
    summaries: Annotated[list[WeighingSummary], Field(max_length=LIMITS.max_summaries_per_message)] = []

    @model_validator(mode="after")
    def _not_empty(self) -> Weighing:
        if not self.weights and not self.summaries:
            raise ValueError("a weighing message needs weights or summaries")
        return self


class FrameMeta(Envelope):
    ts: EpochMs
    camera: Ident
    house: Ident | None = None
    width: Annotated[int, Field(gt=0, le=LIMITS.max_frame_side_px)]
    height: Annotated[int, Field(gt=0, le=LIMITS.max_frame_side_px)]
    size: Annotated[int, Field(gt=0, le=LIMITS.max_frame_bytes)]
    trigger: Literal["scheduled", "scene_change", "request", "event"] = "scheduled"
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")] | None = None


class Frame(_Model):
    meta: FrameMeta
    jpeg: bytes


class GatewayStatus(Envelope):
    ts: EpochMs
    state: Literal["online", "offline"]
    software: ShortText | None = None
    reason: ShortText | None = None


class OutboxState(_Model):
    depth: Annotated[int, Field(ge=0)]
    bytes: Annotated[int, Field(ge=0)] = 0
    oldest_age_s: Annotated[float, Field(ge=0)] = 0.0
    drops: dict[str, Annotated[int, Field(ge=0)]] = {}
    unconfirmed: Annotated[int, Field(ge=0)] | None = None  # 1.2: sent, no receipt yet (part of depth)
    # 1.2: the lowest seq the gateway still holds (its next seq when empty). Every lower seq is
    # stored, dropped or sent outside the outbox, so the cloud may move its watermark past them.
    held_from: Seq | None = None


class SensorState(_Model):
    sensor: Ident
    metric: Metric | None = None
    state: Literal["ok", "fault", "missing"]
    faults: list[Literal["stuck", "flatline", "out_of_range", "missing", "spike", "drift"]] = []


class CameraState(_Model):
    camera: Ident
    state: Literal["ok", "blind", "missing"]


class Health(Envelope):
    ts: EpochMs
    uptime_s: Annotated[float, Field(ge=0)]
    cpu_pct: Annotated[float, Field(ge=0, le=100 * 256)]
    mem_mb: Annotated[float, Field(ge=0)]
    disk_free_mb: Annotated[float, Field(ge=0)]
    software: ShortText
    outbox: OutboxState
    sensors: Annotated[list[SensorState], Field(max_length=256)] = []
    cameras: Annotated[list[CameraState], Field(max_length=64)] = []
    clock_offset_s: float | None = None  # 1.1


class Alert(Envelope):
    """A critical condition judged on the gateway itself, so it has its true event time offline."""

    ts: EpochMs
    house: Ident | None = None
    type: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
    severity: Literal["info", "warning", "critical"]
    value: float | None = None
    threshold: float | None = None
    message: ShortText | None = None
    # 1.3, the gateway's local alarm (edge/alarm.py): "on" when its relay or buzzer sounded for
    # this condition (the cloud had not stored the alert), "acknowledged" when a person silenced
    # it on the farm, "off" when the condition cleared while it sounded.
    alarm: Literal["on", "acknowledged", "off"] | None = None
    since: EpochMs | None = None  # 1.3: onset of the condition (its first firing), when known
    sms_to: Annotated[list[Phone], Field(max_length=8)] = []  # 1.3: numbers its own modem texted


class DesiredConfig(Envelope):
    version: Annotated[int, Field(ge=1, strict=True)]
    issued_at: EpochMs
    config: dict[str, Any]


class AppliedConfig(Envelope):
    ts: EpochMs
    version: Annotated[int, Field(ge=0, strict=True)]
    status: Literal["applied", "rejected", "rolled_back"]
    error: Annotated[str, Field(max_length=4000)] | None = None


MAX_RECEIPT_RANGES = 500


class Receipt(_Model):
    """1.2, cloud -> one gateway: what the cloud has stored (or quarantined), so the gateway may
    delete it. Every seq <= `upto` is settled; `ranges` are further stored [first, last] runs."""

    v: str = SCHEMA_VERSION
    gateway_id: Ident
    ts: EpochMs
    upto: Annotated[int, Field(ge=-1, lt=2**63, strict=True)]  # -1: nothing contiguous yet
    ranges: Annotated[list[tuple[Seq, Seq]], Field(max_length=MAX_RECEIPT_RANGES)] = []

    def covers(self, seq: int) -> bool:
        return seq <= self.upto or any(first <= seq <= last for first, last in self.ranges)


class ReleaseManifest(_Model):
    """What a programme signs (protocol.release): the bundle's identity and the oldest wire
    version the agent inside still speaks. The signature covers `release.canonical(manifest)`."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")]  # the bundle's file name
    version: Annotated[str, Field(pattern=r"^[0-9A-Za-z][0-9A-Za-z._+-]{0,63}$")]
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    size: Annotated[int, Field(gt=0, le=256 * 1024 * 1024)]
    min_protocol: Annotated[str, Field(pattern=r"^[0-9]+\.[0-9]+$")] = "1.0"
    created_at: EpochMs


class ReleaseDesired(Envelope):
    """1.3, cloud -> one gateway, retained: the release it should run. `release` None means the
    agent it was installed with (a rollback past every over-the-air release)."""

    rollout_id: Annotated[int, Field(ge=1, strict=True)]
    issued_at: EpochMs
    release: ReleaseManifest | None = None
    signature: Annotated[str, Field(max_length=200)] | None = None  # base64 Ed25519 over the manifest
    url: Annotated[str, Field(max_length=1000)] | None = None  # HTTPS path on the API, gateway login


class ReleaseState(Envelope):
    """1.3, gateway -> cloud: one step of applying a desired release."""

    ts: EpochMs
    rollout_id: Annotated[int, Field(ge=0, strict=True)]
    version: Annotated[str, Field(max_length=64)]  # the release this report is about ("" = base install)
    state: Literal["downloading", "verified", "installing", "running_new", "healthy", "rolled_back",
                   "refused", "failed"]
    running: Annotated[str, Field(max_length=64)] | None = None  # the version actually running now
    reason: ShortText | None = None


RuleType = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]


class AlarmAck(_Model):
    """1.3, cloud -> one gateway, retained: a person acknowledged in the app the alert that these
    local rules feed. The gateway silences their conditions that began at or before `ts` (a
    condition that starts later is news, and the retained message must not silence it)."""

    v: str = SCHEMA_VERSION
    gateway_id: Ident
    ts: EpochMs
    house: Ident | None = None
    types: Annotated[list[RuleType], Field(min_length=1, max_length=8)]


MESSAGE_TYPES: dict[Kind, type[_Model]] = {
    Kind.TELEMETRY: Telemetry,
    Kind.WEIGHING: Weighing,
    Kind.FRAME: Frame,
    Kind.STATUS: GatewayStatus,
    Kind.HEALTH: Health,
    Kind.ALERT: Alert,
    Kind.CONFIG_DESIRED: DesiredConfig,
    Kind.CONFIG_APPLIED: AppliedConfig,
    Kind.RECEIPT: Receipt,
    Kind.RELEASE_DESIRED: ReleaseDesired,
    Kind.RELEASE_STATE: ReleaseState,
    Kind.ALARM_ACK: AlarmAck,
}

Message = (Telemetry | Weighing | Frame | GatewayStatus | Health | Alert | DesiredConfig | AppliedConfig
           | Receipt | ReleaseDesired | ReleaseState | AlarmAck)
