"""SMS through the gateway's own modem: AT commands (3GPP TS 27.005 text mode) over pyserial.

Chinese needs UCS2: the number and the text travel as hex of their UTF-16 code units, with the
data coding scheme set to 8 (AT+CSMP). `url` is a serial device or a pyserial URL
(``socket://host:port`` for the simulator's modem).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from edge.drivers import DriverError
from protocol.gateway_settings import ModemSettings

log = logging.getLogger(__name__)

CTRL_Z = b"\x1a"


def ucs2_hex(text: str) -> str:
    return text.encode("utf-16-be").hex().upper()


class AtModem:
    def __init__(self, settings: ModemSettings, port: Any | None = None) -> None:
        self.settings = settings
        self._port = port

    def send_sms(self, phone: str, text: str) -> str:
        """Send one SMS; returns the modem's message reference. DriverError when it fails."""
        try:
            port = self._open()
            for command in ("AT", "AT+CMGF=1", 'AT+CSCS="UCS2"', "AT+CSMP=17,167,0,8"):
                self._command(port, f"{command}\r".encode(), b"OK")
            self._command(port, f'AT+CMGS="{ucs2_hex(phone)}"\r'.encode(), b">")
            answer = self._command(port, ucs2_hex(text).encode() + CTRL_Z, b"OK")
        except (OSError, ValueError) as exc:
            self.close()
            raise DriverError(f"modem {self.settings.url}: {exc}") from None
        for line in answer.decode(errors="replace").splitlines():
            if line.startswith("+CMGS:"):
                return line.removeprefix("+CMGS:").strip()
        return ""

    def _open(self) -> Any:
        if self._port is None:
            import serial

            self._port = serial.serial_for_url(self.settings.url, baudrate=self.settings.baudrate, timeout=0.2)
        return self._port

    def _command(self, port: Any, data: bytes, expect: bytes) -> bytes:
        port.write(data)
        deadline = time.monotonic() + self.settings.timeout_s
        got = b""
        while time.monotonic() < deadline:
            got += bytes(port.read(256))
            if expect in got:
                return got
            if b"ERROR" in got:
                raise DriverError(f"modem refused {data[:20]!r}: {got.strip()[-60:]!r}")
        self.close()
        raise DriverError(f"modem did not answer {data[:20]!r} within {self.settings.timeout_s:.0f} s")

    def close(self) -> None:
        if self._port is not None:
            try:
                self._port.close()
            finally:
                self._port = None
