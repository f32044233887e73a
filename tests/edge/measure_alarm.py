"""What the gateway's local rules and alarm make of a simulated farm's own readings.

`python -m tests.edge.measure_alarm --farm F03 --from-day 20 --to-day 21.5 [--outage]`: reads
the farm's transmitters each minute of event time from the simulator (its ventilation
failures, heat waves, faults), judges them exactly as the agent does (sensor health, then the
local rules for the flock's age, then the alarm state machine) and prints JSON: every rule
firing, when the alarm would sound and how many SMS the modem would send. Without `--outage`
the link is the scenario's own (the cloud stores what the gateway sends while it is up); with
it the whole window is an outage, so every condition sounds.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from typing import Any

from edge.alarm import LocalAlarm, Report, Text
from edge.config import parse_config
from edge.health import SensorHealth
from edge.rules import LocalRules
from firmware_sim.clock import MS_PER_DAY
from firmware_sim.edge_config import gateway_config
from firmware_sim.gateway import GatewayDevices
from firmware_sim.scenario import load_scenario
from protocol.gateway_settings import AlarmOutput, AlarmSettings, ModemSettings
from protocol.messages import Metric

JUDGED = {Metric.TEMPERATURE_C, Metric.NH3_PPM, Metric.CO2_PPM}


def measure(scenario: str, farm: str, from_day: float, to_day: float, outage: bool) -> dict[str, Any]:
    started = time.monotonic()
    gw = GatewayDevices.standalone(load_scenario(scenario), farm)
    config = parse_config(gateway_config(gw, host="127.0.0.1", modbus_port=502, scale_port=5021))
    rules = LocalRules(config.rules, config.flock, config.utc_offset_h)
    alarm = LocalAlarm(AlarmSettings(output=AlarmOutput(), modem=ModemSettings(enabled=True),
                                     farmer_phone="+8613800000001"))
    health = SensorHealth()
    t0 = gw.world.start_ms
    start, end = t0 + int(from_day * MS_PER_DAY), t0 + int(to_day * MS_PER_DAY)
    firings: list[dict[str, Any]] = []
    sounded: list[dict[str, Any]] = []
    texts = skipped = 0
    seq = 0
    for ts in range(start, end, 60_000):
        link_up = not outage and gw.network_up(ts)
        for r in gw.readings(ts):
            metric = Metric(r.metric)
            health.register(r.sensor, metric, 60, ts)
            if r.value is None:
                continue
            ok = health.in_range(metric, r.value)
            health.observe(r.sensor, metric, ts, r.value, ok)
            if not ok or metric not in JUDGED:
                continue
            if health.suspect(r.sensor, metric) or health.jumped(r.sensor, metric):
                skipped += 1
                continue
            for spec in rules.observe(ts, metric, r.value, r.house):
                seq += 1
                firings.append({"day": round((ts - t0) / MS_PER_DAY, 3), "type": spec.type, "house": spec.house,
                                "value": round(spec.value, 1), "limit": spec.threshold})
                alarm.observe(spec, seq)
        for action in alarm.step(ts, link_up, lambda _seq, up=link_up: up):
            if isinstance(action, Text):
                texts += 1
            elif isinstance(action, Report) and action.alarm == "on":
                sounded.append({"day": round((ts - t0) / MS_PER_DAY, 3), "type": action.spec.type,
                                "house": action.spec.house, "after_onset_s": (ts - action.since_ms) / 1000})
    return {"scenario": scenario, "farm": farm, "from_day": from_day, "to_day": to_day, "outage": outage,
            "rule_firings": [f for f in firings if not f["type"].endswith("_cleared")],
            "clears": sum(1 for f in firings if f["type"].endswith("_cleared")),
            "alarm_sounded": sounded, "modem_sms": texts, "readings_skipped_as_suspect_or_spike": skipped,
            "wall_s": round(time.monotonic() - started, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenario", default="demo_region")
    parser.add_argument("--farm", required=True, help="a farm id, or 'all' for a summary of every farm")
    parser.add_argument("--from-day", type=float, required=True)
    parser.add_argument("--to-day", type=float, required=True)
    parser.add_argument("--outage", action="store_true")
    args = parser.parse_args()
    if args.farm != "all":
        print(json.dumps(measure(args.scenario, args.farm, args.from_day, args.to_day, args.outage), indent=1,
                         ensure_ascii=False))
        return
    farms = [f.id for f in load_scenario(args.scenario).all_farms()]
    per_farm = {f: measure(args.scenario, f, args.from_day, args.to_day, args.outage) for f in farms}
    print(json.dumps({
        "scenario": args.scenario, "from_day": args.from_day, "to_day": args.to_day, "outage": args.outage,
        "farms": len(farms),
        "rule_firings": {f: len(m["rule_firings"]) for f, m in per_farm.items() if m["rule_firings"]},
        "by_type": dict(Counter(r["type"] for m in per_farm.values() for r in m["rule_firings"])),
        "alarm_episodes": {f: len(m["alarm_sounded"]) for f, m in per_farm.items() if m["alarm_sounded"]},
        "alarm_sounded": {f: m["alarm_sounded"] for f, m in per_farm.items() if m["alarm_sounded"]},
        "modem_sms": sum(m["modem_sms"] for m in per_farm.values()),
        "wall_s": round(sum(m["wall_s"] for m in per_farm.values()), 1),
    }, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
