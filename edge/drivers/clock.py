"""Clocks: the system clock on a real gateway, or a simulated RTC read over Modbus.

The simulator exposes its event time on Modbus unit 250, holding registers 0..3 (uint64
epoch ms, big-endian words). Reading it for every timestamp would cost a round trip, so the
offset is re-read every few seconds and extrapolated with the local monotonic clock times
the observed rate (the simulator may run faster than real time).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

from edge.drivers import DriverError
from edge.drivers.modbus import make_client, read_words


class Clock(Protocol):
    def now_ms(self) -> int: ...


class SystemClock:
    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000


class ModbusClock:
    def __init__(self, host: str, port: int, unit: int = 250, *, refresh_s: float = 2.0,
                 client: Any | None = None, mono: Callable[[], float] = time.monotonic) -> None:
        self._client = client or make_client("tcp", host, port, None, 9600, 2.0)
        self._unit = unit
        self._refresh_s = refresh_s
        self._mono = mono
        self._base_ms: int | None = None
        self._base_mono = 0.0
        self._rate = 1.0
        self._last_ms = 0

    def _read(self) -> int:
        words = read_words(self._client, 0, 4, self._unit)
        value = 0
        for w in words[:4]:
            value = (value << 16) | (w & 0xFFFF)
        return value

    def now_ms(self) -> int:
        mono = self._mono()
        if self._base_ms is None or mono - self._base_mono >= self._refresh_s:
            try:
                read = self._read()
            except DriverError:
                if self._base_ms is None:
                    raise
                read = None  # keep extrapolating through a dropout
            if read is not None:
                if self._base_ms is not None and mono > self._base_mono:
                    self._rate = max((read - self._base_ms) / ((mono - self._base_mono) * 1000), 0.0)
                self._base_ms, self._base_mono = read, mono
        assert self._base_ms is not None
        now = self._base_ms + int((mono - self._base_mono) * 1000 * self._rate)
        self._last_ms = max(self._last_ms, now)  # event time never runs backwards
        return self._last_ms
