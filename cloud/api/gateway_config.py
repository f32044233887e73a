"""Validating a desired gateway config before it is pushed, and diffing it against the last one.

The document is a partial overlay the gateway deep-merges over its local `gateway.yaml` (lists
replace). Sensors and cameras are the wire contract's models (protocol.device_settings), the same
the gateway validates with; the patches below are the remotely changeable part of the rest of the
edge settings (edge/config.py): identity, broker and paths are local only and are refused here.
Unknown keys are refused everywhere.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, model_validator

from protocol.device_settings import (
    BREED_NAMES,
    CameraSettings,
    Ident,
    ModbusSensor,
    Port,
    PosFloat,
)
from protocol.device_settings import Strict as _Strict
from protocol.limits import LIMITS


class ScalePatch(_Strict):
    id: Ident | None = None
    transport: Literal["tcp", "serial"] | None = None
    host: str | None = None
    port: Port | None = None
    serial_port: str | None = None
    baudrate: int | None = None
    zero_offset: float | None = None
    counts_per_gram: float | None = None
    window_low: Annotated[float, Field(gt=0, lt=1)] | None = None
    window_high: Annotated[float, Field(gt=0, le=3)] | None = None
    upload_weights: bool | None = None
    house: Ident | None = None

    @model_validator(mode="after")
    def _nonzero(self) -> ScalePatch:
        if self.counts_per_gram == 0:
            raise ValueError("counts_per_gram must not be 0")
        return self


class FlockPatch(_Strict):
    breed: Literal[BREED_NAMES] | None = None  # type: ignore[valid-type]
    placed_on: date | None = None
    age_at_placement_days: Annotated[float, Field(ge=0)] | None = None
    house: Ident | None = None


class RulesPatch(_Strict):
    temperature_emergency_c: float | None = None
    temperature_low_c: float | None = None
    nh3_critical_ppm: PosFloat | None = None
    co2_critical_ppm: PosFloat | None = None
    repeat_after_s: PosFloat | None = None


class OutboxPatch(_Strict):
    max_mb: PosFloat | None = None
    frame_max_age_h: PosFloat | None = None
    data_max_age_h: PosFloat | None = None
    drain_per_s: PosFloat | None = None
    live_window_s: PosFloat | None = None


class DesiredConfigDoc(_Strict):
    sensors: list[ModbusSensor] | None = None
    scale: ScalePatch | None = None
    cameras: list[CameraSettings] | None = None
    flock: FlockPatch | None = None
    rules: RulesPatch | None = None
    outbox: OutboxPatch | None = None
    telemetry_batch_s: PosFloat | None = None
    health_interval_s: PosFloat | None = None
    summary_hour: Annotated[float, Field(ge=0, lt=24)] | None = None
    utc_offset_h: Annotated[float, Field(ge=-12, le=14)] | None = None

    @model_validator(mode="after")
    def _unique_ids(self) -> DesiredConfigDoc:
        ids = [s.id for s in self.sensors or []] + [c.id for c in self.cameras or []]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"duplicate device ids: {', '.join(dup)}")
        return self


def validate(config: Any) -> list[str]:
    """Problems with a desired config, as human lines (empty when it may be pushed)."""
    if not isinstance(config, dict):
        return [f"the config must be a JSON object, got {type(config).__name__}"]
    if not config:
        return ["the config is empty"]
    size = len(json.dumps(config).encode())
    if size > LIMITS.max_config_bytes:
        return [f"config of {size} bytes is over the {LIMITS.max_config_bytes} byte limit"]
    try:
        DesiredConfigDoc.model_validate(config)
    except ValidationError as exc:
        return [f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}" for err in exc.errors()]
    return []


def diff(old: Any, new: Any, path: str = "") -> list[dict[str, Any]]:
    """Changed leaves between two JSON documents: [{"path", "old", "new"}], dicts walked by key."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[dict[str, Any]] = []
        for key in sorted(set(old) | set(new), key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in old:
                out.append({"path": sub, "old": None, "new": new[key]})
            elif key not in new:
                out.append({"path": sub, "old": old[key], "new": None})
            else:
                out.extend(diff(old[key], new[key], sub))
        return out
    return [] if old == new else [{"path": path or "(top)", "old": old, "new": new}]
