"""Thin I/O shell: one gateway's devices on the network, in accelerated event time.

- Modbus TCP (pymodbus): one unit id per transmitter, unit 250 = the simulated RTC;
  registers are computed from GatewayDevices at the moment of each request.
- Scale: TCP line stream `<event_ts_ms>,<raw_counts>\\n` at the scale's rate × speed,
  the same to every connected client; true visits go to a JSONL file if asked.
Contract: firmware_sim/DEVICES.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from firmware_sim.alarm_devices import AlarmRelay, ModemSim
from firmware_sim.clock import Clock
from firmware_sim.gateway import GatewayDevices
from firmware_sim.sensors import REGISTERS_PER_UNIT, RTC_REGISTERS, RTC_UNIT

log = logging.getLogger(__name__)


class ModbusDevices:
    """pymodbus devices whose registers are filled from the simulation on every read."""

    def __init__(self, gateway: GatewayDevices, clock: Clock) -> None:
        self.gateway = gateway
        self.clock = clock
        self.requests = 0
        self.no_answer = 0
        self.refused_writes = 0

    def sim_devices(self) -> list[SimDevice]:
        units = [*sorted(self.gateway.devices), RTC_UNIT]
        return [
            SimDevice(
                id=unit,
                simdata=[SimData(address=0, count=RTC_REGISTERS if unit == RTC_UNIT else REGISTERS_PER_UNIT,
                                 values=0, datatype=DataType.REGISTERS)],
                action=functools.partial(self._on_request, unit),
            )
            for unit in units
        ]

    async def _on_request(self, unit: int, function_code: int, start_address: int, address: int,
                          count: int, current: list[int], set_values: Any) -> ExcCodes | None:
        self.requests += 1
        if set_values is not None:  # transmitters here are read-only
            if self.refused_writes == 0:
                log.warning("gateway %s: refusing a write to unit %s (read-only transmitters)",
                            self.gateway.gateway_id, unit)
            self.refused_writes += 1
            return ExcCodes.ILLEGAL_FUNCTION
        regs = self.gateway.registers(unit, self.clock.now_ms())
        if regs is None:
            # What an RS485-to-TCP converter says when the transmitter stays silent.
            self.no_answer += 1
            return ExcCodes.GATEWAY_NO_RESPONSE
        current[: len(regs)] = regs
        return None


class ScaleStream:
    """Broadcasts the load-cell lines in event time; pacing follows the clock."""

    def __init__(self, gateway: GatewayDevices, clock: Clock, *, hz: float = 10.0,
                 truth_path: Path | None = None, tick_s: float = 0.1,
                 pty_master: int | None = None) -> None:
        self.gateway = gateway
        self.pty_master = pty_master  # a serial-style line: bytes nobody reads are lost
        self.pty_dropped_bytes = 0
        self.clock = clock
        self.hz = hz
        self.truth_path = truth_path
        self.tick_s = tick_s
        self.clients: set[asyncio.StreamWriter] = set()
        self.start_ms = clock.now_ms()
        self.sent = 0
        self.visits = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.clients.add(writer)
        log.info("scale client connected: %s", writer.get_extra_info("peername"))
        try:
            await reader.read()  # held open until the client leaves
        finally:
            self.clients.discard(writer)
            writer.close()

    async def run(self) -> None:
        truth = self.truth_path.open("a", encoding="utf-8") if self.truth_path else None
        next_ms = self.start_ms  # event time of the next sample to send
        step_ms = 1000.0 / self.hz
        try:
            while True:
                due = int((self.clock.now_ms() - next_ms) / step_ms)
                if due > 0 and not self.gateway.scale_ready(next_ms):
                    next_ms += int(due * step_ms)  # no birds yet: the scale is not installed
                elif due > 0:
                    ts, raw, visits = self.gateway.scale_chunk(next_ms, due, hz=self.hz)
                    next_ms = int(ts[-1] + step_ms)
                    self.sent += due
                    self.visits += len(visits)
                    if truth is not None:
                        for v in visits:
                            truth.write(json.dumps(asdict(v)) + "\n")
                        truth.flush()
                    if self.gateway.powered(int(ts[-1])):
                        payload = "".join(f"{t},{r}\n" for t, r in zip(ts.tolist(), raw.tolist(), strict=True))
                        await self._broadcast(payload.encode())
                await asyncio.sleep(self.tick_s)
        finally:
            if truth is not None:
                truth.close()

    async def _broadcast(self, data: bytes) -> None:
        if self.pty_master is not None:
            try:
                written = os.write(self.pty_master, data)
                self.pty_dropped_bytes += len(data) - written
            except BlockingIOError:
                self.pty_dropped_bytes += len(data)
        for w in list(self.clients):
            try:
                w.write(data)
                await w.drain()
            except (ConnectionError, OSError):
                self.clients.discard(w)


def open_pty() -> tuple[int, str]:
    """A pseudo-terminal pair: we write to the master, a reader opens the slave path like a
    serial port (pyserial works on it). Returns (master fd, slave path)."""
    import pty
    import tty

    master, slave = pty.openpty()
    tty.setraw(slave)  # no echo or line editing: a plain 8N1 byte stream
    os.set_blocking(master, False)
    # The slave end stays open here so writes do not fail while no reader is attached.
    path = os.ttyname(slave)
    return master, path


async def serve_gateway(gateway: GatewayDevices, clock: Clock, *, host: str, modbus_port: int,
                        scale_port: int | None, hz: float = 10.0, truth_path: Path | None = None,
                        ready: asyncio.Event | None = None, pty_master: int | None = None,
                        camera_port: int | None = None, camera_interval_s: float = 60.0,
                        camera_size: tuple[int, int] = (640, 480), alarm: AlarmRelay | None = None,
                        modem: ModemSim | None = None, modem_port: int = 0) -> None:
    """Serve until cancelled. `alarm` joins the Modbus line as one more unit; `modem` listens on
    `modem_port` (0: any free port, see `modem.port`)."""
    modbus = ModbusDevices(gateway, clock)
    units = modbus.sim_devices() + ([alarm.sim_device()] if alarm is not None else [])
    # Unknown unit ids stay silent, as on a real RS485 line.
    server = ModbusTcpServer(units, address=(host, modbus_port), ignore_missing_devices=True)
    tasks = [asyncio.create_task(server.serve_forever())]
    if modem is not None:
        await modem.start(host, modem_port)
    scale_server = None
    if (scale_port is not None or pty_master is not None) and gateway.scale_house() is not None:
        stream = ScaleStream(gateway, clock, hz=hz, truth_path=truth_path, pty_master=pty_master)
        if scale_port is not None:
            scale_server = await asyncio.start_server(stream.handle, host, scale_port)
        tasks.append(asyncio.create_task(stream.run()))
    camera = None
    if camera_port is not None:
        # Imported here: the camera renderer pulls in OpenCV, which plain device serving avoids.
        from firmware_sim.camera.stream import CameraServer
        from firmware_sim.camera_feed import WorldFrameSource, run_camera

        source = WorldFrameSource(gateway, clock.now_ms(), int(camera_interval_s * 1000), camera_size)
        camera = CameraServer(source, host, camera_port).start()
        tasks.append(asyncio.create_task(run_camera(source, clock)))
    log.info("gateway %s: modbus on %s:%s, scale on %s, camera on %s", gateway.gateway_id, host,
             modbus_port, scale_port, camera_port)
    if ready is not None:
        ready.set()
    try:
        await asyncio.gather(*tasks)
    finally:
        for t in tasks:
            t.cancel()
        if scale_server is not None:
            scale_server.close()
        if camera is not None:
            camera.stop()
        if modem is not None:
            await modem.stop()
        with contextlib.suppress(Exception):
            await server.shutdown()


async def serve_many(endpoints: list[dict[str, Any]], clock: Clock, *, host: str, hz: float,
                     camera_interval_s: float = 60.0) -> None:
    """Several gateways in one process; each endpoint dict holds gateway, ports, truth, pty."""
    await asyncio.gather(*(
        serve_gateway(e["gateway"], clock, host=host, modbus_port=e["modbus_port"],
                      scale_port=e["scale_port"], hz=hz, truth_path=e.get("truth"),
                      pty_master=e.get("pty_master"), camera_port=e.get("camera_port"),
                      camera_interval_s=camera_interval_s, alarm=e.get("alarm"), modem=e.get("modem"),
                      modem_port=e.get("modem_port", 0))
        for e in endpoints
    ))
