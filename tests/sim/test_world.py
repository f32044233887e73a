"""Scenario runs: outbreaks trip the mortality rules, heat waves heat the house, seeds repeat."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from firmware_sim.events import EventSpec
from firmware_sim.run import run_scenario
from firmware_sim.scenario import (
    County,
    Farm,
    FlockSpec,
    HouseModel,
    Scenario,
    Township,
    load_scenario,
)

TRUTH_FIELDS = {"farm_id", "flock_id", "breed", "day_age", "date", "birds_alive", "deaths",
                "mean_weight_g", "water_l", "events"}


def small(events: tuple[EventSpec, ...] = (), *, start: date = date(2026, 7, 20), birds: int = 2000,
          breed: str = "ross308", kind: str = "closed", placed_day: int = -25, seed: int = 1) -> Scenario:
    county = County(id="xs", name="秀山", elevation_m=400,
                    townships=(Township(id="t1", name="清溪场镇"),))
    farms = tuple(
        Farm(id=fid, county="xs", township="t1", gateway=f"gw-{fid}",
             houses=(HouseModel(kind=kind, flock=FlockSpec(id=f"{fid}-f", breed=breed, birds=birds,
                                                           placed_day=placed_day)),))
        for fid in ("A", "B")
    )
    return Scenario(name="t", seed=seed, start=start, days=10, counties=(county,), farms=farms,
                    events=events)


def by_farm(rows: list[dict[str, Any]], farm: str) -> list[dict[str, Any]]:
    return [r for r in rows if r["farm_id"] == farm]


def mortality_rule_fires(rows: list[dict[str, Any]], i: int) -> bool:
    """DESIGN.md §5: any of the German, Dutch or Gonzales & Elbers triggers on day i."""
    r = rows[i]
    alive_before = r["birds_alive"] + r["deaths"]
    german = r["deaths"] >= 3 if alive_before <= 100 else r["deaths"] > 0.02 * alive_before
    rate = [x["deaths"] / (x["birds_alive"] + x["deaths"]) for x in rows]
    dutch = i >= 1 and rate[i] >= 0.005 and rate[i - 1] >= 0.005
    week = [x["deaths"] for x in rows[max(0, i - 7):i]]
    gonzales = bool(week) and r["deaths"] > 2.9 * max(np.mean(week), 0.5)
    return german or dutch or gonzales


@pytest.mark.parametrize("disease", ["hpai", "nd"])
def test_outbreak_trips_mortality_rules_within_two_days(disease: str) -> None:
    onset = 5
    sc = small((EventSpec(type=disease, farms=("A",), start_day=onset),))
    rows = run_scenario(sc, days=9).rows
    sick, healthy = by_farm(rows, "A"), by_farm(rows, "B")
    assert not any(mortality_rule_fires(healthy, i) for i in range(1, len(healthy)))
    assert not any(mortality_rule_fires(sick, i) for i in range(1, onset))
    assert any(mortality_rule_fires(sick, i) for i in (onset, onset + 1))
    assert disease in sick[onset]["events"] and disease not in sick[onset - 1]["events"]
    if disease == "hpai":  # sudden: > 2 % in 24 h by the second day, water falls
        r = sick[onset + 1]
        assert r["deaths"] > 0.02 * (r["birds_alive"] + r["deaths"])
        assert sick[onset + 1]["water_l"] < 0.8 * sick[onset - 1]["water_l"]


def test_heat_wave_heats_the_house_and_raises_thi() -> None:
    wave = EventSpec(type="heat_wave", county="xs", start_day=3, days=4, delta_c=7)
    hot = by_farm(run_scenario(small((wave,)), days=8).rows, "A")
    calm = by_farm(run_scenario(small(()), days=8).rows, "A")
    for i in (4, 5):  # full-strength days
        assert hot[i]["outside_temp_c"] - calm[i]["outside_temp_c"] == pytest.approx(7, abs=0.01)
        assert hot[i]["house_temp_max_c"] > calm[i]["house_temp_max_c"] + 2
        assert hot[i]["thi_max"] > calm[i]["thi_max"] + 2
        assert "heat_wave" in hot[i]["events"]
    for i in (0, 1):  # before the wave nothing differs
        assert hot[i]["house_temp_c"] == calm[i]["house_temp_c"]
    # heavy birds in a heat wave lose more birds and grow less
    assert sum(r["deaths"] for r in hot) > sum(r["deaths"] for r in calm)
    assert hot[-1]["mean_weight_g"] < calm[-1]["mean_weight_g"]


def test_ventilation_failure_heats_and_fouls_the_air() -> None:
    fail = EventSpec(type="ventilation_failure", farms=("A",), start_day=2.5, hours=5)
    rows = run_scenario(small((fail,)), days=4).rows
    a, b = by_farm(rows, "A"), by_farm(rows, "B")
    assert a[2]["house_temp_max_c"] > b[2]["house_temp_max_c"] + 4
    assert a[2]["nh3_max_ppm"] > 3 * b[2]["nh3_max_ppm"]
    assert a[2]["deaths"] > 5 * max(1, b[2]["deaths"])
    assert a[1]["house_temp_max_c"] == pytest.approx(b[1]["house_temp_max_c"], abs=1.0)


def test_winter_minimum_ventilation_builds_ammonia() -> None:
    winter = by_farm(run_scenario(small(start=date(2026, 1, 10), placed_day=-34), days=2).rows, "A")
    summer = by_farm(run_scenario(small(placed_day=-34), days=2).rows, "A")
    assert winter[0]["outside_temp_c"] < 12 < summer[0]["outside_temp_c"]
    assert winter[0]["nh3_ppm"] > 2 * summer[0]["nh3_ppm"]
    assert winter[0]["nh3_ppm"] > 10 and winter[0]["co2_ppm"] > 1500


def test_same_seed_same_truth_and_farms_independent_of_company() -> None:
    sc = small((EventSpec(type="coccidiosis", farms=("B",), start_day=1),))
    a = run_scenario(sc, days=4).rows
    b = run_scenario(sc, days=4).rows
    c = run_scenario(sc, days=4, seed=2).rows
    assert json.dumps(a) == json.dumps(b)
    assert json.dumps(a) != json.dumps(c)
    assert all(TRUTH_FIELDS <= set(r) for r in a)


def test_shipped_scenarios() -> None:
    demo = load_scenario("demo_region")
    assert len(demo.counties) == 2 and sum(len(c.townships) for c in demo.counties) >= 4
    assert 20 <= len(demo.farms) <= 30
    breeds = {h.flock.breed for f in demo.farms for h in f.houses}
    assert {"ross308", "yellow_feather", "local_xiushan"} <= breeds
    assert any(h.flock.breed == "ross308" and h.flock.placed_day == 0
               for f in demo.farms for h in f.houses)
    fleet = load_scenario("fleet")
    assert len(fleet.all_farms()) >= 1000
    assert len({f.gateway for f in fleet.all_farms()}) == len(fleet.all_farms())


def test_bad_scenarios_are_refused_with_a_reason(tmp_path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nstart: 2026-01-01\ncounties: [{id: a, name: A}]\n"
                   "farms: [{id: f, county: a, township: nowhere, gateway: g, "
                   "houses: [{flock: {id: fl, breed: dodo, birds: 10}}]}]\n")
    with pytest.raises(ValueError, match="unknown breed 'dodo'"):
        load_scenario(bad)
    bad.write_text("name: [unclosed\n")
    with pytest.raises(ValueError, match="not valid YAML"):
        load_scenario(bad)
    with pytest.raises(FileNotFoundError, match="shipped: .*demo_region"):
        load_scenario("no_such_scenario")


def test_cli_run_writes_truth(tmp_path) -> None:
    from fuhuiyang.commands.sim import sim

    out = tmp_path / "truth.json"
    events = tmp_path / "events.json"
    result = CliRunner().invoke(sim, ["run", "demo_region", "--days", "2", "--speed", "max",
                                      "--truth-json", str(out), "--events-json", str(events), "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(out.read_text())
    assert json.loads(result.output)["rows"] == len(rows) >= 40
    ross = [r for r in rows if r["farm_id"] == "F01"]
    assert [r["day_age"] for r in ross] == [0, 1] and ross[0]["breed"] == "ross308"
    timeline = json.loads(events.read_text())
    hpai = [e for e in timeline if e["type"] == "hpai"]
    assert [e["farm_id"] for e in hpai] == ["F17"]
    assert hpai[0]["start_ms"] == 1_782_835_200_000 + 18 * 86_400_000  # 2026-07-01 00:00 +08:00
    outage = next(e for e in timeline if e["type"] == "network_outage" and e["farm_id"] == "F12")
    assert outage["end_ms"] - outage["start_ms"] == 30 * 3_600_000
    heat = [e for e in timeline if e["type"] == "heat_wave"]
    assert len(heat) == 12  # the Xiushan heat wave, resolved onto each of its 12 farms


def test_coccidiosis_halves_gain_and_nd_drinks_less_first() -> None:
    """DESIGN.md §5 early signs: 48-h gain ≤ 50 % of the previous 48 h; water falls first."""
    onset = 4
    cocci = by_farm(run_scenario(small((EventSpec(type="coccidiosis", farms=("A",), start_day=onset),)),
                                 days=10).rows, "A")
    w = [r["mean_weight_g"] for r in cocci]
    ratios = [(w[i] - w[i - 2]) / (w[i - 2] - w[i - 4]) for i in range(4, len(w))]
    assert min(ratios[: onset - 4 + 1]) > 0.8  # normal growth before onset
    assert any(r <= 0.5 for r in ratios[onset - 4 + 2 : onset - 4 + 5])
    nd = by_farm(run_scenario(small((EventSpec(type="nd", farms=("A",), start_day=onset),)),
                              days=8).rows, "A")
    assert nd[onset]["water_l"] < 0.9 * nd[onset - 1]["water_l"]
    assert nd[onset + 2]["deaths"] > 3 * max(1, nd[onset]["deaths"])


def test_broilers_are_marketed_and_the_empty_house_reads_outside_air() -> None:
    from firmware_sim.gateway import GatewayDevices

    sc = small(placed_day=-40)
    rows = by_farm(run_scenario(sc, days=5).rows, "A")
    assert [r["day_age"] for r in rows] == [40, 41, 42]
    assert rows[-1]["events"] == ["marketed"] and rows[-1]["sold"] > 1900
    assert rows[-1]["birds_alive"] == 0 and rows[0]["sold"] == 0
    gw = GatewayDevices.standalone(sc, "gw-A")
    day4 = gw.world.start_ms + 4 * 86_400_000 + 14 * 3_600_000
    values = {r.metric: r.value for r in gw.readings(day4)}
    house = gw.farm.houses[0].today
    assert house is not None and house.birds_alive == 0
    assert values["co2_ppm"] is not None and values["co2_ppm"] < 600
    assert values["temperature_c"] == pytest.approx(float(np.interp(14, np.arange(24) + 0.5, house.outside_c)), abs=1)


def test_describe_gives_the_region_tree_with_placement_dates() -> None:
    from fuhuiyang.commands.sim import sim

    result = CliRunner().invoke(sim, ["describe", "demo_region"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [c["id"] for c in data["region"]["counties"]] == ["xiushan", "youyang"]
    f01 = next(f for f in data["farms"] if f["id"] == "F01")
    assert f01["gateway"] == "gw-f01" and f01["houses"][0]["flock"]["placed_on"] == "2026-07-01"
    assert f01["houses"][0]["flock"]["market_age_d"] == 42
    assert len(data["farms"]) == 24


def test_winter_hills_underventilated_house_breaks_air_limits_and_cold_snap_bites() -> None:
    sc = load_scenario("winter_hills")
    rows = run_scenario(sc, days=30).rows
    w01, w02, w04 = by_farm(rows, "W01"), by_farm(rows, "W02"), by_farm(rows, "W04")
    # W02 saves heat (CO2 set point 3,600) on 40-day-old litter: NH3 > 20 ppm and CO2 > 3,000
    assert max(r["nh3_max_ppm"] for r in w02) > 20 and max(r["co2_ppm"] for r in w02) > 3000
    assert max(r["co2_ppm"] for r in w01) < 3000
    calm = load_scenario("winter_hills").model_copy(update={"events": ()})
    calm_w04 = by_farm(run_scenario(calm, days=30).rows, "W04")
    snap = [i for i, r in enumerate(w04) if "cold_snap" in r["events"]]
    assert len(snap) == 4
    for i in snap[1:3]:  # full-strength days
        assert w04[i]["outside_temp_c"] - calm_w04[i]["outside_temp_c"] == pytest.approx(-6, abs=0.01)
        assert w04[i]["house_temp_c"] < calm_w04[i]["house_temp_c"] - 4  # open house follows
        assert abs(w01[i]["house_temp_c"] - by_farm(run_scenario(calm, days=i + 1).rows, "W01")[i]["house_temp_c"]) < 0.5


def test_demo_region_ross308_flock_is_within_3_percent_of_the_table() -> None:
    from farming.growth import expected_weight_g

    rows = run_scenario(load_scenario("demo_region"), days=43).rows
    f01 = {r["day_age"]: r for r in rows if r["farm_id"] == "F01"}
    assert f01[0]["date"] == "2026-07-01" and f01[0]["breed"] == "ross308"
    for day in (7, 14, 21, 28, 35, 42):
        assert f01[day]["mean_weight_g"] == pytest.approx(expected_weight_g("ross308", day), rel=0.03)
    assert f01[42]["events"] == ["marketed"]
