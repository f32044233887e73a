"""Modbus RTU/TCP sensors read through register maps from config (pymodbus)."""

from __future__ import annotations

import logging
import struct
from collections.abc import Sequence
from typing import Any

from edge.config import ModbusSensor, Register
from edge.drivers import DriverError
from protocol.messages import Metric

log = logging.getLogger(__name__)

WORDS = {"int16": 1, "uint16": 1, "int32": 2, "uint32": 2, "float32": 2}


def decode_register(words: Sequence[int], reg: Register) -> float:
    """Big-endian words (high word first) to an engineering value."""
    raw = b"".join(int(w & 0xFFFF).to_bytes(2, "big") for w in words[: WORDS[reg.type]])
    fmt = {"int16": ">h", "uint16": ">H", "int32": ">i", "uint32": ">I", "float32": ">f"}[reg.type]
    return float(struct.unpack(fmt, raw)[0]) * reg.scale + reg.offset


def register_span(registers: Sequence[Register]) -> tuple[int, int]:
    """(first address, count) covering every register: one request per sensor."""
    start = min(r.address for r in registers)
    end = max(r.address + WORDS[r.type] for r in registers)
    return start, end - start


def make_client(transport: str, host: str, port: int, serial_port: str | None, baudrate: int,
                timeout: float) -> Any:
    from pymodbus.client import ModbusSerialClient, ModbusTcpClient

    if transport == "rtu":
        assert serial_port is not None
        return ModbusSerialClient(serial_port, baudrate=baudrate, timeout=timeout, retries=1)
    return ModbusTcpClient(host, port=port, timeout=timeout, retries=1)


class ModbusDriver:
    def __init__(self, settings: ModbusSensor, client: Any | None = None) -> None:
        self.settings = settings
        self._client = client or make_client(settings.transport, settings.host, settings.port,
                                             settings.serial_port, settings.baudrate, settings.timeout_s)
        self._start, self._count = register_span(settings.registers)

    def read(self) -> list[tuple[Metric, float]]:
        words = read_words(self._client, self._start, self._count, self.settings.unit)
        return [(r.metric, decode_register(words[r.address - self._start :], r)) for r in self.settings.registers]

    def close(self) -> None:
        self._client.close()


def read_words(client: Any, address: int, count: int, unit: int) -> list[int]:
    from pymodbus.exceptions import ModbusException

    try:
        if not client.connected and not client.connect():
            raise DriverError(f"cannot connect to Modbus device (unit {unit})")
        rr = client.read_holding_registers(address, count=count, device_id=unit)
    except ModbusException as exc:
        client.close()  # a half-open socket would fail every later read too
        raise DriverError(f"Modbus unit {unit}: {exc}") from None
    except OSError as exc:
        client.close()
        raise DriverError(f"Modbus unit {unit}: {exc}") from None
    if rr.isError():
        raise DriverError(f"Modbus unit {unit} answered an exception: {rr}")
    words = list(rr.registers)
    if len(words) < count:
        raise DriverError(f"Modbus unit {unit}: {len(words)} registers, wanted {count}")
    return words
