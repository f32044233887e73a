"""The farm's alarm hardware in software: a Modbus relay/buzzer module and a 4G modem.

- `AlarmRelay`: one Modbus unit (default 240) with 8 coils (outputs: a buzzer, a light) and
  8 discrete inputs (push buttons). Every coil write is recorded with the simulation's event
  time; `press()` latches a button until the gateway reads it, as cheap modules do.
- `ModemSim`: a TCP server speaking the AT commands of SMS text mode (3GPP TS 27.005) with
  UCS2 text, as the gateway's modem driver does over ``socket://host:port``; every SMS is
  recorded with event time.
Contract: firmware_sim/DEVICES.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from dataclasses import dataclass
from typing import Any, Protocol

from pymodbus.simulator import DataType, SimData, SimDevice

log = logging.getLogger(__name__)

ALARM_UNIT = 240
CHANNELS = 8


class Clock(Protocol):
    def now_ms(self) -> int: ...


@dataclass(frozen=True)
class Switching:
    ts_ms: int  # event time of the write
    coil: int
    on: bool


@dataclass(frozen=True)
class SentSms:
    ts_ms: int
    phone: str
    text: str


class AlarmRelay:
    def __init__(self, clock: Clock, unit: int = ALARM_UNIT) -> None:
        self.clock = clock
        self.unit = unit
        self.coils = [False] * CHANNELS
        self.buttons = [False] * CHANNELS
        self.switchings: list[Switching] = []

    def is_on(self, coil: int = 0) -> bool:
        return self.coils[coil]

    def press(self, button: int = 0) -> None:
        self.buttons[button] = True

    def sim_device(self) -> SimDevice:
        blocks = ([SimData(0, CHANNELS, False, DataType.BITS)], [SimData(0, CHANNELS, False, DataType.BITS)],
                  [SimData(0, CHANNELS, 0, DataType.REGISTERS)], [SimData(0, CHANNELS, 0, DataType.REGISTERS)])
        return SimDevice(id=self.unit, simdata=blocks, action=self._on_request)

    async def _on_request(self, function_code: int, start_address: int, address: int, count: int,
                          current: list[int], set_values: Any) -> None:
        if function_code in (5, 15) and set_values is not None:
            for i, value in enumerate(set_values):
                coil = address + i
                if 0 <= coil < CHANNELS and bool(value) != self.coils[coil]:
                    self.coils[coil] = bool(value)
                    self.switchings.append(Switching(self.clock.now_ms(), coil, bool(value)))
        elif function_code == 1:
            current[: len(current)] = [_pack(self.coils[address:address + count])] + [0] * (len(current) - 1)
        elif function_code == 2:
            bits = self.buttons[address:address + count]
            current[: len(current)] = [_pack(bits)] + [0] * (len(current) - 1)
            for i in range(address, min(address + count, CHANNELS)):
                self.buttons[i] = False  # latched until read
        return None


def _pack(bits: list[bool]) -> int:
    return sum(1 << i for i, b in enumerate(bits) if b)


_CMGS = re.compile(r'^AT\+CMGS="([0-9A-Fa-f+]+)"$')


class ModemSim:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.sent: list[SentSms] = []
        self.ucs2 = False
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.StreamWriter] = set()
        self.port = 0

    async def start(self, host: str, port: int) -> None:
        self._server = await asyncio.start_server(self._handle, host, port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        for writer in list(self._clients):
            writer.close()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    def _decode(self, text: str) -> str:
        if not self.ucs2:
            return text
        try:
            return bytes.fromhex(text).decode("utf-16-be")
        except ValueError:
            return text

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        buffer = b""
        number: str | None = None
        self._clients.add(writer)
        try:
            while chunk := await reader.read(1024):
                buffer += chunk
                while True:
                    if number is not None:
                        end = buffer.find(b"\x1a")
                        if end < 0:
                            break
                        body, buffer = buffer[:end].decode(errors="replace"), buffer[end + 1:]
                        self.sent.append(SentSms(self.clock.now_ms(), number, self._decode(body.strip())))
                        number = None
                        writer.write(f"\r\n+CMGS: {len(self.sent)}\r\n\r\nOK\r\n".encode())
                        continue
                    end = buffer.find(b"\r")
                    if end < 0:
                        break
                    line, buffer = buffer[:end].decode(errors="replace").strip(), buffer[end + 1:]
                    reply, number = self._command(line)
                    writer.write(reply.encode())
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self._clients.discard(writer)
            writer.close()

    def _command(self, line: str) -> tuple[str, str | None]:
        if not line:
            return "", None
        if line in ("AT", "AT+CMGF=1", "AT+CSMP=17,167,0,8") or line.startswith("AT+CSCS="):
            if line.startswith("AT+CSCS="):
                self.ucs2 = "UCS2" in line
            return "\r\nOK\r\n", None
        match = _CMGS.match(line)
        if match:
            return "\r\n> ", self._decode(match.group(1))
        return "\r\nERROR\r\n", None


async def serve_alarm_devices(relay: AlarmRelay, modem: ModemSim | None, *, host: str, modbus_port: int,
                              modem_port: int = 0) -> None:
    """The alarm hardware alone (no farm world): its own Modbus server and the modem, until cancelled.
    With a farm, `devices_server.serve_gateway` puts the relay on the transmitters' line instead."""
    from pymodbus.server import ModbusTcpServer

    server = ModbusTcpServer([relay.sim_device()], address=(host, modbus_port), ignore_missing_devices=True)
    task = asyncio.create_task(server.serve_forever())
    if modem is not None:
        await modem.start(host, modem_port)
    try:
        await task
    finally:
        if modem is not None:
            await modem.stop()
        with contextlib.suppress(Exception):
            await server.shutdown()
