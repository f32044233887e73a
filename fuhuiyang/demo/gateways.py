"""One real edge agent per simulated gateway, stepped in lockstep with the simulated clock.

Network outages and power losses come from the simulator's timeline: a cut drops the
MQTT connection the way a dying 4G link does (no DISCONNECT, so the broker publishes the
gateway's last will), the agent keeps queueing in its on-disk outbox, and on return it
reconnects and drains the backlog oldest-first.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge.agent import Agent, Devices, FrameSource
from edge.config import parse_config
from edge.drivers.modbus import ModbusDriver
from edge.frames import CameraChannel
from edge.outbox import Outbox
from edge.remote import ConfigStore
from edge.sampling import SensorDriver
from edge.uplink import Uplink
from firmware_sim.clock import SimClock
from firmware_sim.edge_config import gateway_config
from firmware_sim.gateway import GatewayDevices
from firmware_sim.world import World
from fuhuiyang.demo.seed import cloud_house_id
from fuhuiyang.demo.transports import SimCamera, SimRegisterClient, SimScale
from fuhuiyang.processes.edge import software_version
from fuhuiyang.services.mqtt import BrokerEndpoint

log = logging.getLogger(__name__)

SAMPLE_INTERVAL_S = 900.0  # env transmitters polled every fifteen simulated minutes
# A 10 Hz load cell is ~26 million samples a month; four scales keep the demo inside minutes.
SCALE_FARMS = frozenset({"F01", "F08", "F09", "F14"})
# A camera where the township's outbreak puts dead birds in view (F17) and one that goes blind
# (F01); a frame an hour. Rendering is ~0.1 s a frame: the demo's largest cost after the agents.
CAMERA_FARMS = frozenset({"F01", "F17"})
CAMERA_INTERVAL_S = 3600.0


@dataclass(frozen=True)
class GatewayLogin:
    """What a technician hands a field gateway: its password (its id is its login) and the CA."""

    password: str = field(repr=False)
    ca_file: Path


@dataclass
class DemoGateway:
    devices: GatewayDevices
    agent: Agent
    linked: bool = False  # uplink running
    cuts: int = 0

    @property
    def gateway_id(self) -> str:
        return self.devices.gateway_id

    def step(self, now_ms: int) -> None:
        powered = self.devices.powered(now_ms)
        want_link = powered and self.devices.network_up(now_ms)
        if want_link and not self.linked:
            self.agent.start()
            self.linked = True
        elif not want_link and self.linked:
            self._cut()
        if powered:
            self.agent.step()

    def _cut(self) -> None:
        """Drop the link as a failing network does: no DISCONNECT, so the broker sends the will."""
        if self.agent.uplink is not None:
            self.agent.uplink.sever()
        self.agent.uplink = None
        self.linked = False
        self.cuts += 1

    def close(self) -> None:
        if self.linked:
            self.agent.shutdown()


def _globalise_houses(doc: dict[str, Any], farm_id: str) -> None:
    """The cloud knows houses by global id; a provisioned gateway.yaml carries those."""
    for section in [*doc.get("sensors", []), *doc.get("cameras", []), doc.get("scale"), doc.get("flock")]:
        if section and section.get("house"):
            section["house"] = cloud_house_id(farm_id, section["house"])


def _secure_uplink(doc: dict[str, Any], gateway_id: str, login: GatewayLogin) -> None:
    """gateway.yaml's mqtt section as provisioning writes it; the password in the environment."""
    from fuhuiyang.demo.stack import GATEWAY_PASSWORD_ENV_PREFIX

    password_env = GATEWAY_PASSWORD_ENV_PREFIX + gateway_id.replace("-", "_").upper()
    os.environ[password_env] = login.password  # one process holds every agent: one variable each
    doc["mqtt"] = {**doc.get("mqtt", {}), "tls": True, "ca_file": str(login.ca_file), "username": gateway_id,
                   "password_env": password_env}


def build_gateways(world: World, clock: SimClock, broker: BrokerEndpoint, workdir: Path,
                   scale_farms: frozenset[str] = SCALE_FARMS,
                   camera_farms: frozenset[str] = CAMERA_FARMS,
                   logins: dict[str, GatewayLogin] | None = None) -> list[DemoGateway]:
    """One agent per farm; with `logins`, each connects as a field gateway does (TLS, own login)."""
    gateways = []
    for farm in world.farms:
        devices = GatewayDevices(world, farm)
        data_dir = workdir / devices.gateway_id
        doc = gateway_config(
            devices, host="127.0.0.1", modbus_port=502,
            scale_port=4000 if farm.farm.id in scale_farms else None,
            camera_port=8554 if farm.farm.id in camera_farms else None, camera_interval_s=CAMERA_INTERVAL_S,
            mqtt_host=broker.host, mqtt_port=broker.port, interval_s=SAMPLE_INTERVAL_S,
            data_dir=str(data_dir),
        )
        _globalise_houses(doc, farm.farm.id)
        if logins is not None:
            _secure_uplink(doc, devices.gateway_id, logins[devices.gateway_id])
        doc["clock"] = {"source": "system"}  # the demo's agents share the simulated clock directly
        # WAL without an fsync per commit: survives a crashed process, not a power cut. The demo's
        # disks are temporary; a farm gateway keeps the default FULL.
        doc["outbox"] = {"synchronous": "NORMAL"}
        # Fewer, larger messages than a farm's defaults (60 s telemetry, 5 min health): the same
        # readings, a tenth of the messages, so a month fits in minutes.
        doc["telemetry_batch_s"] = 900.0
        doc["health_interval_s"] = 1800.0
        for camera in doc.get("cameras", []):
            camera["check_s"] = CAMERA_INTERVAL_S
        config = parse_config(doc, f"demo gateway {devices.gateway_id}")
        data_dir.mkdir(parents=True, exist_ok=True)
        outbox = Outbox(config.resolve(config.outbox.path), synchronous=config.outbox.synchronous)
        drivers: dict[str, SensorDriver] = {s.id: ModbusDriver(s, client=SimRegisterClient(devices, clock)) for s in config.sensors}
        scale = SimScale(devices, clock) if config.scale is not None else None
        cameras: list[FrameSource] = [
            CameraChannel(c, SimCamera(devices, clock, int(CAMERA_INTERVAL_S * 1000)), config.utc_offset_h)
            for c in config.cameras
        ]
        agent = Agent(
            config, doc, clock, outbox, Devices(drivers, scale, cameras),
            ConfigStore(config.resolve(Path("remote-config.json"))), software=software_version(),
            uplink_factory=lambda c: Uplink(c.mqtt, c.gateway_id),
        )
        gateways.append(DemoGateway(devices, agent))
    return gateways
