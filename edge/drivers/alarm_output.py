"""The alarm relay or buzzer on Modbus: one coil to switch, one discrete input for the farm's button."""

from __future__ import annotations

import logging
from typing import Any

from edge.drivers import DriverError
from edge.drivers.modbus import make_client
from protocol.gateway_settings import AlarmOutput

log = logging.getLogger(__name__)


class ModbusAlarmOutput:
    def __init__(self, settings: AlarmOutput, client: Any | None = None) -> None:
        self.settings = settings
        self._client = client or make_client(settings.transport, settings.host, settings.port,
                                             settings.serial_port, settings.baudrate, settings.timeout_s)

    def switch(self, on: bool) -> None:
        s = self.settings
        rr = self._call(lambda: self._client.write_coil(s.coil, on, device_id=s.unit))
        if rr.isError():
            raise DriverError(f"alarm output (unit {s.unit}, coil {s.coil}) refused the write: {rr}")

    def button_pressed(self) -> bool:
        """The farm's acknowledge button (latched by the module until read)."""
        s = self.settings
        if s.ack_input is None:
            return False
        address = s.ack_input
        rr = self._call(lambda: self._client.read_discrete_inputs(address, count=1, device_id=s.unit))
        if rr.isError():
            raise DriverError(f"alarm button (unit {s.unit}, input {address}): {rr}")
        return bool(rr.bits[0])

    def _call(self, request: Any) -> Any:
        from pymodbus.exceptions import ModbusException

        unit = self.settings.unit
        try:
            if not self._client.connected and not self._client.connect():
                raise DriverError(f"cannot connect to the alarm output (unit {unit})")
            return request()
        except (ModbusException, OSError) as exc:
            self._client.close()
            raise DriverError(f"alarm output (unit {unit}): {exc}") from None

    def close(self) -> None:
        self._client.close()
