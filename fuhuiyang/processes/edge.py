"""Composition root of the gateway process (`fuhuiyang edge run`): config file in, running agent out."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from edge.agent import Agent, Devices, FrameSource
from edge.agent_update import AgentUpdate
from edge.config import ConfigError, GatewayConfig, merge, parse_config, parse_yaml_with_lines
from edge.drivers.clock import Clock, ModbusClock, SystemClock
from edge.outbox import Outbox
from edge.remote import ConfigStore
from edge.sampling import SensorDriver
from edge.uplink import Uplink
from fuhuiyang import __version__

log = logging.getLogger(__name__)


def software_version(update: AgentUpdate | None = None) -> str:
    """The package version, and the over-the-air release running (if any)."""
    running = update.dirs.running() if update is not None else ""
    return f"fuhuiyang-edge/{__version__}" + (f" release/{running}" if running else "")


def load_effective(path: Path) -> tuple[GatewayConfig, dict[str, Any], ConfigStore]:
    """The local file with the last applied remote overlay on top (if it still validates)."""
    text = path.read_text()
    base, lines = parse_yaml_with_lines(text, str(path))
    local = parse_config(base, str(path), lines)
    store = ConfigStore(local.resolve(Path("remote-config.json")))
    version, overlay = store.load()
    if not overlay:
        return local, base, store
    try:
        return parse_config(merge(base, overlay), f"remote config v{version}"), base, store
    except ConfigError as exc:
        log.warning("stored remote config v%s no longer validates (%s); using the local file", version, exc)
        return local, base, store


def build_devices(config: GatewayConfig) -> Devices:
    from edge.drivers.modbus import ModbusDriver

    sensors: dict[str, SensorDriver] = {s.id: ModbusDriver(s) for s in config.sensors}
    scale = None
    if config.scale is not None:
        from edge.drivers.scale import ScaleStream

        scale = ScaleStream(config.scale)
    cameras: list[FrameSource] = []
    if config.cameras:
        from edge.frames import CameraChannel

        cameras = [CameraChannel.from_settings(c, config.utc_offset_h) for c in config.cameras]
    alarm = modem = None
    if config.alarm.output is not None:
        from edge.drivers.alarm_output import ModbusAlarmOutput

        alarm = ModbusAlarmOutput(config.alarm.output)
    if config.alarm.modem.enabled:
        from edge.drivers.modem import AtModem

        modem = AtModem(config.alarm.modem)
    return Devices(sensors, scale, cameras, alarm, modem)


def build_clock(config: GatewayConfig) -> Clock:
    if config.clock.source == "modbus":
        return ModbusClock(config.clock.host, config.clock.port, config.clock.unit)
    return SystemClock()


def build_agent(path: Path) -> Agent:
    config, base, store = load_effective(path)
    config.data_dir.mkdir(parents=True, exist_ok=True)
    outbox = Outbox(config.resolve(config.outbox.path), synchronous=config.outbox.synchronous)
    update = None
    if config.update is not None:
        from edge.agent_update import AgentUpdate

        update = AgentUpdate(config, config.mqtt.password())
    return Agent(
        config, base, build_clock(config), outbox, build_devices(config), store,
        software=software_version(update),
        uplink_factory=lambda c: Uplink(c.mqtt, c.gateway_id),
        rebuild_devices=build_devices,
        update=update,
    )
