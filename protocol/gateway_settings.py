"""Gateway settings a pushed config may change: part of the wire contract.

The gateway builds its whole settings from `RemoteSettings` (edge/config.py adds identity,
broker, clock and paths, which stay local to `gateway.yaml`), and the cloud judges a config
before pushing it with the same models (`overlay_problems`), so both refuse the same things.
Devices (sensors, cameras) are in protocol.device_settings.
"""

from __future__ import annotations

from datetime import date
from types import UnionType
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails

from farming.climate import DEFAULT_LIMITS
from protocol.device_settings import (
    BREED_NAMES,
    CameraSettings,
    Ident,
    ModbusSensor,
    Port,
    PosFloat,
    Strict,
)
from protocol.messages import Phone


class ScaleSettings(Strict):
    id: Ident = "scale1"
    kind: Literal["platform", "hanging"] = "platform"
    transport: Literal["tcp", "serial"] = "tcp"
    host: str = "127.0.0.1"
    port: Port = 5020
    serial_port: str | None = None
    baudrate: int = 115200
    zero_offset: float = 84_000.0
    counts_per_gram: float = 21.5
    window_low: Annotated[float, Field(gt=0, lt=1)] = 0.40
    window_high: Annotated[float, Field(gt=0, le=3)] = 0.55
    upload_weights: bool = True  # per-bird weights, not only daily summaries
    house: Ident | None = None

    @model_validator(mode="after")
    def _check(self) -> ScaleSettings:
        if self.counts_per_gram == 0:
            raise ValueError("counts_per_gram must not be 0")
        if self.transport == "serial" and not self.serial_port:
            raise ValueError("transport serial needs serial_port")
        return self


class FlockSettings(Strict):
    breed: str = "ross308"
    placed_on: date
    age_at_placement_days: Annotated[float, Field(ge=0)] = 0.0
    house: Ident | None = None

    # A field check, not a model one: it also judges a pushed flock that leaves placed_on to the file.
    @field_validator("breed")
    @classmethod
    def _known_breed(cls, breed: str) -> str:
        if breed not in BREED_NAMES:
            raise ValueError(f"unknown breed {breed!r}; known: {', '.join(BREED_NAMES)}")
        return breed


class RuleSettings(Strict):
    temperature_emergency_c: float = 35.0
    temperature_low_c: float | None = None
    # The gateway's own last-resort alarms use farming's critical limits.
    nh3_critical_ppm: PosFloat = DEFAULT_LIMITS.nh3_critical_ppm
    co2_critical_ppm: PosFloat = DEFAULT_LIMITS.co2_critical_ppm
    repeat_after_s: PosFloat = 1800.0  # a still-active alert is re-sent this often


class AlarmOutput(Strict):
    """A relay or buzzer module on Modbus that the gateway switches while nobody else can warn.

    `coil` is the output (function code 5); `ack_input` a discrete input (function code 2)
    wired to a push button on the farm: pressing it silences the alarm.
    """

    transport: Literal["tcp", "rtu"] = "tcp"
    host: str = "127.0.0.1"
    port: Port = 502
    serial_port: str | None = None
    baudrate: int = 9600
    unit: Annotated[int, Field(ge=0, le=255)] = 240
    coil: Annotated[int, Field(ge=0, le=65535)] = 0
    ack_input: Annotated[int, Field(ge=0, le=65535)] | None = 0  # None: no button
    timeout_s: PosFloat = 2.0

    @model_validator(mode="after")
    def _rtu_needs_port(self) -> AlarmOutput:
        if self.transport == "rtu" and not self.serial_port:
            raise ValueError("transport rtu needs serial_port")
        return self


class ModemSettings(Strict):
    """The gateway's own 4G modem, for an SMS to the farmer while the uplink is down.

    `url` is a serial device (/dev/ttyUSB2) or any pyserial URL (socket://host:port reaches
    the simulator's modem). Rate limits keep a flapping condition from emptying the SIM.
    """

    enabled: bool = False
    url: str = "/dev/ttyUSB2"
    baudrate: int = 115200
    timeout_s: PosFloat = 10.0
    min_interval_s: PosFloat = 1800.0  # at most one SMS per this, whatever the condition
    max_per_day: Annotated[int, Field(ge=0, le=50)] = 6


class AlarmSettings(Strict):
    """The gateway's own alarm for its critical rules (edge/alarm.py)."""

    output: AlarmOutput | None = None  # None: no relay or buzzer installed
    modem: ModemSettings = ModemSettings()
    farmer_phone: Phone | None = None  # whom the modem texts
    # Connected but the cloud has not stored the alert after this long: sound anyway.
    cloud_grace_s: PosFloat = 30.0


class OutboxLimits(Strict):
    """How much the gateway's outbox keeps and how fast it drains (its file and its SQLite
    mode are local: edge/config.py's OutboxSettings)."""

    max_mb: PosFloat = 200.0
    frame_max_age_h: PosFloat = 48.0
    data_max_age_h: PosFloat = 30 * 24.0
    drain_per_s: PosFloat = 50.0  # backlog messages per second after an outage
    live_window_s: PosFloat = 120.0  # newer than this is live and skips the backlog queue
    receipt_timeout_s: PosFloat = 120.0  # sent, no receipt from the cloud: send again (doubling)


class RemoteSettings(Strict):
    """Everything a desired config may set."""

    utc_offset_h: Annotated[float, Field(ge=-12, le=14)] = 8.0
    outbox: OutboxLimits = OutboxLimits()
    sensors: list[ModbusSensor] = []
    scale: ScaleSettings | None = None
    cameras: list[CameraSettings] = []
    flock: FlockSettings | None = None
    rules: RuleSettings = RuleSettings()
    alarm: AlarmSettings = AlarmSettings()
    telemetry_batch_s: PosFloat = 60.0
    health_interval_s: PosFloat = 300.0
    summary_hour: Annotated[float, Field(ge=0, lt=24)] = 0.5  # yesterday's weighing summary at 00:30

    @model_validator(mode="after")
    def _unique_ids(self) -> RemoteSettings:
        ids = [s.id for s in self.sensors] + [c.id for c in self.cameras]
        dup = {i for i in ids if ids.count(i) > 1}
        if dup:
            raise ValueError(f"duplicate device ids: {', '.join(sorted(dup))}")
        return self


def _merged_sections() -> dict[str, type[BaseModel]]:
    """Sections the gateway merges key by key into its file's (edge.config.merge: dicts merge)."""
    out: dict[str, type[BaseModel]] = {}
    for name, field in RemoteSettings.model_fields.items():
        kind = field.annotation
        options = get_args(kind) if isinstance(kind, UnionType) else (kind,)  # `X | None`
        for option in options:
            if isinstance(option, type) and issubclass(option, BaseModel):
                out[name] = option
    return out


MERGED_SECTIONS = _merged_sections()


def overlay_problems(overlay: dict[str, Any]) -> list[str]:
    """What the gateway's own models refuse in a (partial) desired config, as human lines.

    The gateway deep-merges the document over its local file: lists (sensors, cameras) and
    plain values replace and are judged whole; a section it merges key by key (scale, flock,
    rules, outbox) is judged with the keys it leaves out at the model's defaults, except that a
    key the model requires (flock.placed_on) may be left to the file.
    """
    problems: list[ErrorDetails] = []
    whole = {k: v for k, v in overlay.items() if not (k in MERGED_SECTIONS and isinstance(v, dict))}
    try:
        RemoteSettings.model_validate(whole)
    except ValidationError as exc:
        problems += exc.errors()
    for name, model in MERGED_SECTIONS.items():
        section = overlay.get(name)
        if not isinstance(section, dict):
            continue
        try:
            model.model_validate(section)
        except ValidationError as exc:
            problems += [{**err, "loc": (name, *err["loc"])} for err in exc.errors()
                         if not (err["type"] == "missing" and len(err["loc"]) == 1)]
    return [f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}" for err in problems]
