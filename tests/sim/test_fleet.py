"""Fleet mode drives many gateways from one process, with outages, as protocol messages."""

from __future__ import annotations

import json

from click.testing import CliRunner

from firmware_sim.clock import MS_PER_DAY, MS_PER_HOUR
from firmware_sim.fleet import Fleet, telemetry
from firmware_sim.scenario import load_scenario
from protocol import Kind, decode, encode


def test_fleet_ticks_readings_and_outages() -> None:
    fleet = Fleet(load_scenario("fleet"), limit=40)
    assert len(fleet) == 40
    start = fleet.world.start_ms
    tick = fleet.tick(start + 6 * MS_PER_HOUR)
    by_id = {g.gateway_id: g for g in tick.gateways}
    assert len(by_id) == 40
    normal = by_id["gw-fleet-00000"]
    assert normal.powered and normal.network_up
    assert {r.metric for r in normal.readings} == {"temperature_c", "humidity_pct", "nh3_ppm",
                                                   "co2_ppm", "light_lux", "water_l"}
    # fleet.yaml: network outage for fleet-00010..12 from day 1 for 20 h; power loss for 00020
    during = fleet.tick(start + MS_PER_DAY + 10 * MS_PER_HOUR)
    g = {x.gateway_id: x for x in during.gateways}
    assert not g["gw-fleet-00010"].network_up and g["gw-fleet-00010"].readings
    assert g["gw-fleet-00000"].network_up
    # the stuck NH3 sensor on fleet-00030 repeats its value
    stuck = [{r.metric: r.value for r in x.readings}["nh3_ppm"]
             for t in fleet.ticks(start_ms=start + 2 * MS_PER_DAY, count=3, interval_s=3600)
             for x in t.gateways if x.gateway_id == "gw-fleet-00030"]
    assert len(set(stuck)) == 1
    power = fleet.tick(start + 3 * MS_PER_DAY + 2 * MS_PER_HOUR)
    p = {x.gateway_id: x for x in power.gateways}
    assert not p["gw-fleet-00020"].powered and p["gw-fleet-00020"].readings == ()
    # time only moves forward: a gateway asked about a day already past does not answer
    late = fleet.tick(start + 2 * MS_PER_DAY)
    assert all(not x.readings for x in late.gateways)


def test_ticks_become_valid_telemetry() -> None:
    fleet = Fleet(load_scenario("fleet"), limit=5)
    seq = 0
    for tick in fleet.ticks(count=3, interval_s=300):
        for g in tick.gateways:
            msg = telemetry(g, seq)
            seq += 1
            assert msg is not None
            back = decode(Kind.TELEMETRY, encode(msg))
            assert back.gateway_id == g.gateway_id and len(back.points) == len(g.readings)
            assert all(p.ts == tick.ts_ms for p in back.points)


def test_same_seed_same_fleet() -> None:
    a = Fleet(load_scenario("fleet"), limit=10)
    b = Fleet(load_scenario("fleet"), limit=10)
    ts = a.world.start_ms + 30 * 60_000
    assert a.tick(ts) == b.tick(ts)
    assert a.tick(ts + 60_000) != a.tick(ts)


def test_bench_sim_reports_speed() -> None:
    from fuhuiyang.bench.sim_speed import sim_speed

    result = CliRunner().invoke(sim_speed, ["--days", "2", "--fleet-ticks", "2", "--scale-days", "1",
                                            "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["region"]["days"] == 2 and data["region"]["farms"] == 24
    assert data["region"]["speedup_vs_real_time"] > 1
    assert data["fleet"]["gateways"] == 1000 and data["fleet"]["readings"] > 0
    assert data["scale"]["samples"] == 864_000
