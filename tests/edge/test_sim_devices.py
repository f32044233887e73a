"""The agent's real drivers against the simulator's device servers (the DEVICES.md contract)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from edge.config import GatewayConfig, load_config
from fuhuiyang.processes.edge import build_clock, build_devices
from fuhuiyang.services.net import free_port, wait_for_port

pytest.importorskip("firmware_sim.devices_server")


@pytest.fixture
def sim_gateway(tmp_path: Path) -> Iterator[GatewayConfig]:
    modbus, scale = free_port(), free_port()
    cfg = tmp_path / "gw.yaml"
    proc = subprocess.Popen(
        [sys.executable, "-c", "from fuhuiyang.cli import main; main()", "sim", "devices", "demo_region",
         "--gateway", "gw-f01", "--modbus-port", str(modbus), "--scale-port", str(scale), "--speed", "600",
         "--start-day", "7.25", "--gateway-config", str(cfg)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for_port("127.0.0.1", modbus, 60)
        wait_for_port("127.0.0.1", scale, 30)
        yield load_config(cfg)  # the simulator's generated gateway.yaml validates as is
    finally:
        proc.terminate()
        proc.wait(10)


def test_drivers_read_simulated_transmitters_rtc_and_scale(sim_gateway: GatewayConfig) -> None:
    config = sim_gateway
    assert config.clock.source == "modbus" and config.sensors and config.scale is not None
    devices = build_devices(config)
    clock = build_clock(config)
    t0 = clock.now_ms()
    assert 946_684_800_000 < t0 < 4_102_444_800_000
    metrics = {}
    for sensor_id, driver in devices.sensors.items():
        for metric, value in driver.read():
            metrics[(sensor_id, metric.value)] = value
    temps = [v for (_, m), v in metrics.items() if m == "temperature_c"]
    assert temps and all(-10 < t < 45 for t in temps)
    assert any(m == "water_l" for _, m in metrics)
    assert devices.scale is not None
    ts_all, raw_all = [], []
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        ts, raw = devices.scale.read()
        ts_all.append(ts)
        raw_all.append(raw)
        time.sleep(0.1)
    ts = np.concatenate(ts_all)
    raw = np.concatenate(raw_all)
    assert len(ts) > 100  # 10 Hz of event time at 600x
    assert np.all(np.diff(ts) > 0)
    grams = (raw - config.scale.zero_offset) / config.scale.counts_per_gram
    assert np.median(grams) > -200  # calibrated near zero with an empty or occupied platform
    assert clock.now_ms() - t0 > 60_000  # the RTC runs at 600x


def test_alarm_relay_and_modem_of_the_simulator_through_the_generated_config(tmp_path: Path) -> None:
    """`sim devices --alarm --modem-port` serves the relay module on the gateway's Modbus line and
    the AT modem; the generated gateway.yaml builds the edge's real alarm drivers for them."""
    modbus, scale, modem = free_port(), free_port(), free_port()
    cfg = tmp_path / "gw.yaml"
    proc = subprocess.Popen(
        [sys.executable, "-c", "from fuhuiyang.cli import main; main()", "sim", "devices", "demo_region",
         "--gateway", "gw-f01", "--modbus-port", str(modbus), "--scale-port", str(scale), "--speed", "60",
         "--alarm", "--modem-port", str(modem), "--farmer-phone", "+8613800000001",
         "--gateway-config", str(cfg)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_for_port("127.0.0.1", modbus, 60)
        wait_for_port("127.0.0.1", modem, 30)
        config = load_config(cfg)
        assert config.alarm.output is not None and config.alarm.modem.enabled
        assert config.alarm.farmer_phone == "+8613800000001"
        devices = build_devices(config)
        assert devices.alarm is not None and devices.modem is not None
        devices.alarm.switch(True)
        client = devices.alarm._client  # type: ignore[attr-defined]
        assert client.read_coils(0, count=1, device_id=config.alarm.output.unit).bits[0] is True
        assert devices.alarm.button_pressed() is False
        devices.alarm.switch(False)
        assert client.read_coils(0, count=1, device_id=config.alarm.output.unit).bits[0] is False
        assert devices.modem.send_sms("+8613800000001", "【富慧养】鸡舍h1温度36.0℃") == "1"
    finally:
        proc.terminate()
        proc.wait(10)
