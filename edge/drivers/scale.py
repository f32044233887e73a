"""The scale's raw load-cell line stream: ``<event_ts_ms>,<raw_counts>\\n`` over TCP or serial."""

from __future__ import annotations

import logging
import socket
from typing import Any

import numpy as np
import numpy.typing as npt

from edge.config import ScaleSettings
from edge.drivers import DriverError

log = logging.getLogger(__name__)

MAX_LINE = 64


def parse_lines(buffer: bytes) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], int, bytes]:
    """Complete lines to (ts, raw) arrays; returns also the bad-line count and the remainder."""
    *lines, rest = buffer.split(b"\n")
    ts: list[int] = []
    raw: list[int] = []
    bad = 0
    for line in lines:
        parts = line.strip().split(b",")
        try:
            if len(parts) != 2:
                raise ValueError
            t, r = int(parts[0]), int(parts[1])
        except ValueError:
            bad += 1
            continue
        if not (946_684_800_000 <= t < 4_102_444_800_000 and -(2**23) <= r < 2**23):
            bad += 1
            continue
        ts.append(t)
        raw.append(r)
    if len(rest) > MAX_LINE:  # no newline in sight: garbage, not a line in progress
        bad += 1
        rest = b""
    return np.array(ts, dtype=np.int64), np.array(raw, dtype=np.int64), bad, rest


class ScaleStream:
    """Non-blocking reader; reconnects on the next read after a drop."""

    def __init__(self, settings: ScaleSettings) -> None:
        self.settings = settings
        self.bad_lines = 0
        self._sock: socket.socket | None = None
        self._serial: Any = None
        self._rest = b""

    def _open(self) -> None:
        s = self.settings
        if s.transport == "serial":
            import serial

            self._serial = serial.Serial(s.serial_port, s.baudrate, timeout=0)
            return
        sock = socket.create_connection((s.host, s.port), timeout=3)
        sock.setblocking(False)
        self._sock = sock

    def read(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        try:
            if self._sock is None and self._serial is None:
                self._open()
            data = self._read_bytes()
        except OSError as exc:
            self.close()
            raise DriverError(f"scale {self.settings.id}: {exc}") from None
        ts, raw, bad, self._rest = parse_lines(self._rest + data)
        if bad:
            self.bad_lines += bad
            log.debug("scale %s: %s bad lines", self.settings.id, bad)
        return ts, raw

    def _read_bytes(self) -> bytes:
        if self._serial is not None:
            return bytes(self._serial.read(self._serial.in_waiting or 1))
        assert self._sock is not None
        chunks = []
        while True:
            try:
                chunk = self._sock.recv(65536)
            except BlockingIOError:
                break
            if not chunk:
                raise ConnectionResetError("scale closed the connection")
            chunks.append(chunk)
            if len(chunks) > 64:
                break
        return b"".join(chunks)

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
        if self._serial is not None:
            self._serial.close()
        self._sock = self._serial = None
        self._rest = b""
