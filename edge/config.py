"""Gateway settings: one typed model for the local `gateway.yaml` and remote desired config.

What a pushed config may change (devices, scale, flock, rules, outbox limits, intervals) is the
wire contract's `RemoteSettings` (protocol/gateway_settings.py), which the cloud also validates
with; identity, broker, clock and paths are added here and stay local.
Unknown keys are refused everywhere (a typo must not silently fall back to a default).
Secrets never live in the file: the MQTT password comes from the environment variable
named by ``mqtt.password_env``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import Field, ValidationError, model_validator

from protocol.device_settings import CameraSettings, Ident, ModbusSensor, PosFloat, Register, Strict
from protocol.gateway_settings import (
    FlockSettings,
    OutboxLimits,
    RemoteSettings,
    RuleSettings,
    ScaleSettings,
)

# Shared with the cloud, re-exported for the gateway's modules.
__all__ = ["CameraSettings", "FlockSettings", "ModbusSensor", "Register", "RuleSettings", "ScaleSettings"]


_Strict = Strict


class MqttSettings(_Strict):
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 1883
    protocol: Literal["auto", "5", "3.1.1"] = "auto"  # auto: v5, falling back to 3.1.1
    tls: bool = False
    ca_file: Path | None = None
    username: str | None = None
    password_env: str = "FUHUIYANG_GATEWAY_PASSWORD"
    keepalive_s: Annotated[int, Field(ge=5, le=3600)] = 60
    inflight: Annotated[int, Field(ge=1, le=1000)] = 20
    backoff_min_s: PosFloat = 1.0
    backoff_max_s: PosFloat = 300.0
    connect_timeout_s: PosFloat = 10.0

    def password(self) -> str | None:
        return os.environ.get(self.password_env) or None


class OutboxSettings(OutboxLimits):
    path: Path = Path("outbox.db")  # relative paths are under data_dir
    synchronous: Literal["FULL", "NORMAL", "EXTRA"] = "FULL"


class ClockSettings(_Strict):
    source: Literal["system", "modbus"] = "system"
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 502
    unit: Annotated[int, Field(ge=0, le=255)] = 250


class UpdateSettings(_Strict):
    """Over-the-air agent updates (docs/edge.md, OTA). Local only: a remote config can never
    change the key a gateway trusts."""

    api_url: str = Field(pattern=r"^https?://")  # bundles are fetched from <api_url>/api/v1/gateway/...
    public_key_file: Path | None = None  # the programme's release key (PEM); none: every release refused
    ca_file: Path | None = None  # default: mqtt.ca_file
    health_deadline_s: Annotated[float, Field(ge=30, le=86_400)] = 600


class GatewayConfig(RemoteSettings):
    gateway_id: Ident
    data_dir: Path = Path("var/edge")
    mqtt: MqttSettings = MqttSettings()
    outbox: OutboxSettings = OutboxSettings()
    clock: ClockSettings = ClockSettings()
    update: UpdateSettings | None = None

    @model_validator(mode="after")
    def _cross_checks(self) -> GatewayConfig:
        if self.scale is not None and self.flock is None:
            raise ValueError("a scale needs a flock section (breed, placed_on) for its acceptance window")
        return self

    def resolve(self, path: Path) -> Path:
        return path if path.is_absolute() else self.data_dir / path


class ConfigError(ValueError):
    """Invalid gateway settings; `problems` are human lines, with file line numbers when known."""

    def __init__(self, source: str, problems: list[str]) -> None:
        super().__init__(f"{source}: " + "; ".join(problems))
        self.source = source
        self.problems = problems


def parse_config(data: Any, source: str = "config", lines: dict[tuple[Any, ...], int] | None = None) -> GatewayConfig:
    if not isinstance(data, dict):
        raise ConfigError(source, [f"the top level must be a mapping, got {type(data).__name__}"])
    try:
        return GatewayConfig.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            where = ".".join(str(p) for p in loc) or "(top level)"
            line = _nearest_line(loc, lines or {})
            prefix = f"line {line}: " if line else ""
            problems.append(f"{prefix}{where}: {err['msg']}")
        raise ConfigError(source, problems) from None


def load_config(path: Path | str) -> GatewayConfig:
    """Read and validate a gateway.yaml; errors name the line."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(str(path), [f"cannot read: {exc.strerror or exc}"]) from None
    data, lines = parse_yaml_with_lines(text, str(path))
    return parse_config(data, str(path), lines)


def parse_yaml_with_lines(text: str, source: str) -> tuple[Any, dict[tuple[Any, ...], int]]:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise ConfigError(source, [f"{where}not valid YAML: {getattr(exc, 'problem', exc)}"]) from None
    lines: dict[tuple[Any, ...], int] = {}
    if node is not None:
        _index_lines(node, (), lines)
    return data if data is not None else {}, lines


def _index_lines(node: yaml.Node, path: tuple[Any, ...], out: dict[tuple[Any, ...], int]) -> None:
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            sub = (*path, key.value)
            _index_lines(value, sub, out)
            out[sub] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index_lines(item, (*path, i), out)


def _nearest_line(loc: tuple[Any, ...], lines: dict[tuple[Any, ...], int]) -> int | None:
    # pydantic adds union/model tags to loc that YAML does not have: drop unknown parts.
    for n in range(len(loc), -1, -1):
        key = tuple(str(p) if not isinstance(p, int) else p for p in loc[:n])
        if key in lines:
            return lines[key]
    return None


def merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge a (partial) remote document over the local one; lists replace."""
    out = dict(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out
