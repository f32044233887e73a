"""Simulated devices on the wire: Modbus registers, the RTC, the scale stream, faults."""

from __future__ import annotations

import asyncio
import socket
from datetime import date

import numpy as np
import pytest
from pymodbus.client import AsyncModbusTcpClient

from firmware_sim.clock import MS_PER_DAY, MS_PER_HOUR, FollowingClock
from firmware_sim.devices_server import serve_gateway
from firmware_sim.edge_config import gateway_config
from firmware_sim.events import EventSpec
from firmware_sim.gateway import GatewayDevices
from firmware_sim.scenario import County, Farm, FlockSpec, HouseModel, Scenario, Township
from firmware_sim.sensors import FaultState, decode_rtc, encode_registers, encode_rtc, measured


def scenario(events: tuple[EventSpec, ...] = (), placed_day: int = -20) -> Scenario:
    county = County(id="c", name="C", townships=(Township(id="t", name="T"),))
    farm = Farm(id="F1", county="c", township="t", gateway="gw-1",
                houses=(HouseModel(flock=FlockSpec(id="fl", breed="ross308", birds=1500,
                                                   placed_day=placed_day)),))
    return Scenario(name="dev", seed=3, start=date(2026, 7, 1), counties=(county,), farms=(farm,),
                    events=events)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_register_encoding_follows_the_contract() -> None:
    assert encode_registers("th", {"humidity_pct": 65.4, "temperature_c": -3.2})[:2] == [654, 0x10000 - 32]
    assert encode_registers("nh3", {"nh3_ppm": 12.34})[2] == 123
    assert encode_registers("co2", {"co2_ppm": 2875.4})[2] == 2875
    assert encode_registers("light", {"light_lux": 70000})[6:8] == [1, 70000 - 65536]
    assert encode_registers("water", {"water_l": 123456.7})[0:2] == [(1234567 >> 16), 1234567 & 0xFFFF]
    ts = 1_782_864_000_123
    assert decode_rtc(encode_rtc(ts)) == ts


def test_faults_bend_readings() -> None:
    rng = np.random.default_rng(0)
    start = 0
    stuck = [(0, EventSpec(type="sensor_fault", sensor="nh3_ppm", mode="stuck", start_day=1, days=2))]
    st = FaultState.empty()
    first = measured("nh3_ppm", 10.0, MS_PER_DAY + 1, rng, stuck, start, st)
    later = measured("nh3_ppm", 30.0, 2 * MS_PER_DAY, rng, stuck, start, st)
    assert first == later and first is not None and abs(first - 10) < 3
    after = measured("nh3_ppm", 30.0, 3 * MS_PER_DAY + 1, rng, stuck, start, st)
    assert after is not None and abs(after - 30) < 3
    drift = [(1, EventSpec(type="sensor_fault", sensor="nh3_ppm", mode="drift", start_day=0, days=20))]
    drifted = measured("nh3_ppm", 5.0, 10 * MS_PER_DAY, rng, drift, start, FaultState.empty())
    assert drifted is not None and drifted > 20
    gone = [(2, EventSpec(type="sensor_fault", sensor="co2_ppm", mode="dropout", start_day=0, days=1))]
    assert measured("co2_ppm", 900.0, 5, rng, gone, start, FaultState.empty()) is None
    assert measured("nh3_ppm", 5.0, 5, rng, gone, start, FaultState.empty()) is not None
    bad = [(3, EventSpec(type="sensor_fault", sensor="temperature_c", mode="out_of_range", start_day=0, days=1))]
    assert measured("temperature_c", 25.0, 5, rng, bad, start, FaultState.empty()) == -3276.8


def test_modbus_server_is_readable_with_a_pymodbus_client() -> None:
    fault = EventSpec(type="sensor_fault", sensor="co2_ppm", mode="dropout", start_day=0, days=1)
    gw = GatewayDevices.standalone(scenario((fault,)), "gw-1")
    start = gw.world.start_ms + 10 * MS_PER_HOUR
    clock = FollowingClock(start, speed=60.0)
    port = free_port()

    async def scenario_run() -> None:
        ready = asyncio.Event()
        task = asyncio.create_task(serve_gateway(gw, clock, host="127.0.0.1", modbus_port=port,
                                                 scale_port=None, ready=ready))
        await asyncio.wait_for(ready.wait(), 10)
        client = AsyncModbusTcpClient("127.0.0.1", port=port, timeout=2, retries=0)
        try:
            for _ in range(50):
                if await client.connect():
                    break
                await asyncio.sleep(0.05)
            th = await client.read_holding_registers(0, count=2, device_id=1)
            assert not th.isError()
            rh, temp = th.registers[0] / 10, (th.registers[1] - (th.registers[1] >> 15) * 65536) / 10
            day = gw.farm.houses[0].today
            assert day is not None
            assert abs(temp - float(np.interp(10.5, np.arange(24) + 0.5, day.temp_c))) < 1.5
            assert 20 <= rh <= 100
            rtc = await client.read_holding_registers(0, count=4, device_id=250)
            assert 0 <= decode_rtc(rtc.registers) - start < 60_000 * 60  # within an hour at 60x
            co2 = await client.read_holding_registers(0, count=3, device_id=3)
            assert co2.isError()  # the dropout fault: the converter reports no response
            refused = await client.write_register(0, 123, device_id=1)
            assert refused.isError()  # read-only transmitter
            water = await client.read_holding_registers(0, count=2, device_id=5)
            litres = ((water.registers[0] << 16) | water.registers[1]) / 10
            assert litres > 0
        finally:
            client.close()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(scenario_run())


@pytest.mark.parametrize("placed_day", [-20, 1])
def test_scale_stream_lines_over_tcp(placed_day: int) -> None:
    """Lines at 10 Hz of event time; before the flock is placed the scale sends nothing."""
    gw = GatewayDevices.standalone(scenario(placed_day=placed_day), "gw-1")
    start = gw.world.start_ms + (9 * MS_PER_HOUR if placed_day < 0 else MS_PER_DAY - 3_000)
    clock = FollowingClock(start, speed=100.0)
    port, mport = free_port(), free_port()

    async def scenario_run() -> list[str]:
        ready = asyncio.Event()
        task = asyncio.create_task(serve_gateway(gw, clock, host="127.0.0.1", modbus_port=mport,
                                                 scale_port=port, ready=ready))
        await asyncio.wait_for(ready.wait(), 10)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        data = b""
        while data.count(b"\n") < 500:
            data += await asyncio.wait_for(reader.read(65536), 10)
        writer.close()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return data.decode().splitlines()[:-1]

    lines = asyncio.run(scenario_run())
    ts = np.array([int(line.split(",")[0]) for line in lines])
    raw = np.array([int(line.split(",")[1]) for line in lines])
    assert np.all(np.diff(ts) == 100)
    if placed_day > 0:
        assert ts[0] >= gw.world.start_ms + placed_day * MS_PER_DAY
    grams = (raw - 84_000) / 21.5
    assert np.median(grams) == pytest.approx(0, abs=30)  # mostly an empty platform


def test_generated_gateway_config_is_valid_for_the_edge() -> None:
    edge_config = pytest.importorskip("edge.config")
    gw = GatewayDevices.standalone(scenario(), "gw-1")
    cfg = gateway_config(gw, host="127.0.0.1", modbus_port=5020, scale_port=5021)
    parsed = edge_config.parse_config(cfg)
    assert parsed.clock.source == "modbus" and parsed.clock.unit == 250
    assert parsed.scale is not None and parsed.scale.counts_per_gram == 21.5
    assert parsed.flock is not None and parsed.flock.placed_on == date(2026, 6, 11)
    assert {s.unit for s in parsed.sensors} == {1, 2, 3, 4, 5}


def test_scale_stream_on_a_pty_reads_like_a_serial_port() -> None:
    import os

    from firmware_sim.devices_server import open_pty

    gw = GatewayDevices.standalone(scenario(), "gw-1")
    clock = FollowingClock(gw.world.start_ms + 9 * MS_PER_HOUR, speed=100.0)
    master, path = open_pty()
    fd = os.open(path, os.O_RDONLY | os.O_NOCTTY)

    async def scenario_run() -> bytes:
        ready = asyncio.Event()
        task = asyncio.create_task(serve_gateway(gw, clock, host="127.0.0.1", modbus_port=free_port(),
                                                 scale_port=None, ready=ready, pty_master=master))
        await asyncio.wait_for(ready.wait(), 10)
        data = b""
        loop = asyncio.get_running_loop()
        while data.count(b"\n") < 200:
            data += await asyncio.wait_for(loop.run_in_executor(None, os.read, fd, 4096), 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return data

    try:
        lines = asyncio.run(scenario_run()).decode().splitlines()[1:-1]
    finally:
        os.close(fd)
        os.close(master)
    ts = [int(x.split(",")[0]) for x in lines]
    assert all(b - a == 100 for a, b in zip(ts, ts[1:], strict=False))
