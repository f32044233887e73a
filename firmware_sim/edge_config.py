"""The gateway.yaml an edge agent needs to read one simulated gateway's devices.

Plain data in the edge's config shape (edge/config.py); the simulator does not import the
edge, the tests check the two agree.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from firmware_sim.gateway import GatewayDevices
from firmware_sim.scale import ScaleParams
from firmware_sim.sensors import RTC_UNIT

# Plausible ranges written into the register maps: outside them the edge flags a fault.
REGISTER_MAPS: dict[str, list[dict[str, Any]]] = {
    "th": [
        {"metric": "humidity_pct", "address": 0, "type": "uint16", "scale": 0.1, "min": 0, "max": 100},
        {"metric": "temperature_c", "address": 1, "type": "int16", "scale": 0.1, "min": -40, "max": 80},
    ],
    "nh3": [{"metric": "nh3_ppm", "address": 2, "type": "uint16", "scale": 0.1, "min": 0, "max": 500}],
    "co2": [{"metric": "co2_ppm", "address": 2, "type": "uint16", "scale": 1.0, "min": 0, "max": 10000}],
    "light": [{"metric": "light_lux", "address": 6, "type": "uint32", "scale": 1.0, "min": 0,
               "max": 200000}],
    "water": [{"metric": "water_l", "address": 0, "type": "uint32", "scale": 0.1, "min": 0,
               "cumulative": True}],
}


def gateway_config(
    gateway: GatewayDevices,
    *,
    host: str,
    modbus_port: int,
    scale_port: int | None,
    mqtt_host: str = "127.0.0.1",
    mqtt_port: int = 1883,
    interval_s: float = 60.0,
    data_dir: str | None = None,
    scale_params: ScaleParams | None = None,
    camera_port: int | None = None,
    camera_interval_s: float = 300.0,
) -> dict[str, Any]:
    scenario = gateway.world.scenario
    sensors = []
    for unit, (house, dev) in sorted(gateway.devices.items()):
        sensors.append({
            "id": f"{house.model.id}-{dev.kind}", "transport": "tcp", "host": host, "port": modbus_port,
            "unit": unit, "registers": REGISTER_MAPS[dev.kind], "interval_s": interval_s,
            "house": house.model.id,
        })
    cfg: dict[str, Any] = {
        "gateway_id": gateway.gateway_id,
        "mqtt": {"host": mqtt_host, "port": mqtt_port, "username": gateway.gateway_id},
        "clock": {"source": "modbus", "host": host, "port": modbus_port, "unit": RTC_UNIT},
        "sensors": sensors,
    }
    if data_dir is not None:
        cfg["data_dir"] = data_dir
    scale_house = gateway.scale_house()
    if scale_port is not None and scale_house is not None:
        p = scale_params or ScaleParams()
        hid = scale_house.model.id
        cfg["scale"] = {"id": f"{hid}-scale", "transport": "tcp", "host": host,
                        "port": scale_port, "zero_offset": float(p.zero_offset),
                        "counts_per_gram": p.counts_per_gram, "house": hid}
        flock = scale_house.model.flock
        cfg["flock"] = {"breed": flock.breed,
                        "placed_on": (scenario.start + timedelta(days=flock.placed_day)).isoformat(),
                        "house": hid}
    if camera_port is not None:
        house = gateway.scale_house() or gateway.farm.houses[0]
        cfg["cameras"] = [{"id": f"{house.model.id}-cam", "source": f"http://{host}:{camera_port}/stream.mjpg",
                           "interval_s": camera_interval_s, "house": house.model.id}]
    return cfg
