"""Device settings that travel in a desired config: part of the wire contract.

The gateway validates its whole `gateway.yaml` with these (edge/config.py, through
protocol/gateway_settings.py) and the cloud validates a config before pushing it with the same
models, so both judge a sensor, register map or camera the same way.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from farming.growth import BREEDS
from protocol.messages import Metric
from protocol.topics import GATEWAY_ID

Ident = Annotated[str, Field(pattern=GATEWAY_ID.pattern)]
PosFloat = Annotated[float, Field(gt=0)]
Port = Annotated[int, Field(ge=1, le=65535)]

# Breeds with a growth standard: the gateway can weigh only these.
BREED_NAMES = BREEDS


class Strict(BaseModel):
    """Unknown keys are refused: a typo must not silently fall back to a default."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Register(Strict):
    metric: Metric
    address: Annotated[int, Field(ge=0, le=65535)]
    type: Literal["int16", "uint16", "uint32", "int32", "float32"] = "uint16"
    scale: float = 1.0
    offset: float = 0.0
    min: float | None = None  # plausible range; outside is a fault, the reading is dropped
    max: float | None = None
    cumulative: bool = False  # a counter (water meter): the uplink carries the interval's delta


class ModbusSensor(Strict):
    id: Ident
    transport: Literal["tcp", "rtu"] = "tcp"
    host: str = "127.0.0.1"
    port: Port = 502
    serial_port: str | None = None
    baudrate: int = 9600
    unit: Annotated[int, Field(ge=0, le=255)] = 1
    registers: Annotated[list[Register], Field(min_length=1)]
    interval_s: PosFloat = 60.0
    timeout_s: PosFloat = 2.0
    house: Ident | None = None

    @model_validator(mode="after")
    def _rtu_needs_port(self) -> ModbusSensor:
        if self.transport == "rtu" and not self.serial_port:
            raise ValueError("transport rtu needs serial_port")
        return self


class CameraSettings(Strict):
    id: Ident = "cam1"
    source: str  # RTSP/HTTP URL, a video file, a directory of <ts_ms>.jpg, or a USB index
    interval_s: PosFloat = 300.0  # scheduled capture while lights are on
    check_s: PosFloat = 10.0  # how often a frame is grabbed to look for scene changes
    lights_on_h: tuple[float, float] = (5.0, 22.0)  # local hours; outside, only scene changes
    scene_change: Annotated[float, Field(gt=0, le=255)] = 18.0  # mean abs grey-level change
    budget_mb_per_day: PosFloat = 30.0
    max_width: Annotated[int, Field(ge=64, le=4096)] = 1280
    jpeg_quality: Annotated[int, Field(ge=20, le=100)] = 80
    house: Ident | None = None
