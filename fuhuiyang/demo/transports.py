"""In-memory transports from the edge's drivers to the simulator's devices.

Thirty simulated days of 24 gateways in minutes cannot go through TCP sockets at 10,000×
real time, so the demo swaps only the transport: the edge's own ModbusDriver decodes the
simulator's register words (the same maps and decoding as on a farm), and the scale reader
gets the simulator's raw load-cell counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from pymodbus.exceptions import ModbusIOException

from firmware_sim.clock import Clock
from firmware_sim.gateway import GatewayDevices


@dataclass(frozen=True)
class _Registers:
    registers: list[int]

    def isError(self) -> bool:  # noqa: N802 - pymodbus's name
        return False


class SimRegisterClient:
    """The slice of pymodbus's client API that edge.drivers.modbus uses."""

    def __init__(self, devices: GatewayDevices, clock: Clock) -> None:
        self._devices = devices
        self._clock = clock
        self.connected = True

    def connect(self) -> bool:
        return True

    def close(self) -> None:
        pass

    def read_holding_registers(self, address: int, *, count: int, device_id: int) -> _Registers:
        words = self._devices.registers(device_id, self._clock.now_ms())
        if words is None:  # the transmitter does not answer: a timeout on a real bus
            raise ModbusIOException(f"no response from unit {device_id}")
        return _Registers(list(words[address : address + count]))


class SimScale:
    """Raw counts of the simulated platform scale up to the clock's now, as the line reader gives."""

    def __init__(self, devices: GatewayDevices, clock: Clock, hz: float = 10.0) -> None:
        self._devices = devices
        self._clock = clock
        self._hz = hz
        self._next_ms: int | None = None

    def read(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        now = self._clock.now_ms()
        empty = np.zeros(0, np.int64)
        if not self._devices.scale_ready(now):
            return empty, empty
        if self._next_ms is None:
            self._next_ms = now
        n = int((now - self._next_ms) * self._hz / 1000)
        if n <= 0:
            return empty, empty
        ts, raw, _visits = self._devices.scale_chunk(self._next_ms, n, self._hz)
        self._next_ms = int(ts[-1]) + int(1000 / self._hz)
        return ts.astype(np.int64), raw.astype(np.int64)


class SimCamera:
    """The simulator's camera over one house, rendered on demand at the clock's time.

    Renders at most one frame per `interval_ms` of event time (a month of 640×480 frames every
    few seconds would be the whole demo's budget); between renders the last frame is repeated
    with its own timestamp, which the edge's camera channel recognises as nothing new.
    """

    def __init__(self, devices: GatewayDevices, clock: Clock, interval_ms: int) -> None:
        from firmware_sim.camera_feed import WorldFrameSource

        self._source = WorldFrameSource(devices, clock.now_ms(), interval_ms)
        self._clock = clock
        self._last: tuple[int, npt.NDArray[np.uint8]] | None = None

    def grab(self, now_ms: int) -> tuple[int, npt.NDArray[np.uint8]]:
        import cv2

        source = self._source
        if now_ms - source.ts_ms > 2 * source.interval_ms:  # skip ahead, as a live camera shows now
            source.ts_ms = now_ms - source.interval_ms
        if self._last is None or source.ts_ms + source.interval_ms <= now_ms:
            frame = source.tick()
            bgr = np.asarray(cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2BGR), dtype=np.uint8)
            self._last = (frame.ts_ms, bgr)
        return self._last

    @property
    def killed(self) -> int:
        """Birds that died in view so far (what the detector should report)."""
        return self._source.killed

    @property
    def carcasses(self) -> dict[int, tuple[float, float, float, float]]:
        """Each dead bird seen so far and where it was last seen."""
        return self._source.carcasses

    def close(self) -> None:
        self._source.close()
