"""The cloud judges a pushed gateway config with the gateway's own settings model: what the
gateway would refuse is refused by the push API, and every key the gateway lets a pushed config
change is accepted."""

from __future__ import annotations

from typing import Any

import pytest

from cloud.api.gateway_config import validate
from edge.config import ConfigError, GatewayConfig, merge, parse_config
from tests.api import world
from tests.api.conftest import ApiWorld

LOCAL = {"gateway_id": "gw1", "scale": {"serial_port": None}}  # a gateway.yaml without a serial port
FLOCK = {"breed": "cobb500", "placed_on": "2026-11-01"}
SENSOR = {"id": "env1", "registers": [{"metric": "temperature_c", "address": 1}]}

REFUSED = [
    ({"scale": {"kind": "tripod"}, "flock": FLOCK}, "scale.kind"),
    ({"scale": {"transport": "serial"}, "flock": FLOCK}, "transport serial needs serial_port"),
    ({"scale": {"counts_per_gram": 0}, "flock": FLOCK}, "counts_per_gram must not be 0"),
    ({"flock": {"breed": "dodo", "placed_on": "2026-11-01"}}, "unknown breed 'dodo'"),
    ({"sensors": [{**SENSOR, "transport": "rtu"}]}, "transport rtu needs serial_port"),
    ({"sensors": [SENSOR], "cameras": [{"id": "env1", "source": "rtsp://cam"}]}, "duplicate device ids: env1"),
    ({"rules": {"nh3_critical_ppm": -1}}, "rules.nh3_critical_ppm"),
    ({"alarm": {"farmer_phone": "138-0000"}}, "alarm.farmer_phone"),
    ({"alarm": {"output": {"transport": "rtu"}}}, "transport rtu needs serial_port"),
    ({"alarm": {"modem": {"max_per_day": 500}}}, "alarm.modem.max_per_day"),
]
ACCEPTED = {"scale": {"kind": "hanging", "transport": "serial", "serial_port": "/dev/ttyUSB0"}, "flock": FLOCK}
# Set in the gateway's own file only (edge/remote.py refuses some of them too): not pushed.
LOCAL_SECTIONS = {"gateway_id", "data_dir", "mqtt", "clock", "update"}  # update: the release key (OTA)
LOCAL_KEYS = {"outbox.path", "outbox.synchronous"}


def test_the_push_api_refuses_what_the_gateway_refuses_and_accepts_what_it_accepts(api: ApiWorld) -> None:
    for config, problem in REFUSED:
        with pytest.raises(ConfigError, match=problem.split(".")[-1]):
            parse_config(merge(LOCAL, config))
        r = api.client.post(f"/api/v1/gateways/{world.gateway('f2')}/configs", headers=api.headers("tech1"),
                            json={"config": config})
        assert r.status_code == 422, r.text
        error = r.json()["error"]
        assert error["code"] == "invalid_config" and any(problem in line for line in error["details"]), error
    assert parse_config(merge(LOCAL, ACCEPTED)).scale is not None
    r = api.client.post(f"/api/v1/gateways/{world.gateway('f2')}/configs", headers=api.headers("tech1"),
                        json={"config": ACCEPTED})
    assert r.status_code == 201, r.text
    # The gateway's alarm (output address, modem on/off, the farmer's number) is pushed like the rest.
    alarm = {"alarm": {"output": {"host": "192.168.1.50", "unit": 241, "coil": 2},
                       "modem": {"enabled": True}, "farmer_phone": "+8613800000009"}}
    applied = parse_config(merge(LOCAL, {**alarm, "flock": FLOCK})).alarm
    assert applied.output is not None and applied.output.unit == 241 and applied.modem.enabled
    r = api.client.post(f"/api/v1/gateways/{world.gateway('f2')}/configs", headers=api.headers("tech1"),
                        json={"config": alarm})
    assert r.status_code == 201, r.text


def _full_gateway() -> dict[str, Any]:
    """A gateway.yaml with every section set, as the gateway would read it back."""
    config = GatewayConfig.model_validate({
        "gateway_id": "gw1", "sensors": [SENSOR], "cameras": [{"id": "cam1", "source": "rtsp://cam"}],
        "scale": ACCEPTED["scale"], "flock": FLOCK, "rules": {"temperature_low_c": 18.0},
        "update": {"api_url": "https://api.example.org", "public_key_file": "/etc/fuhuiyang/release.pub"},
    })
    dumped: dict[str, Any] = config.model_dump(mode="json")
    return dumped


def _keys(doc: dict[str, Any]) -> set[str]:
    """Top-level keys, and section.key for the sections the gateway merges key by key."""
    out = set()
    for key, value in doc.items():
        out |= {f"{key}.{sub}" for sub in value} if isinstance(value, dict) else {key}
    return out


def _local(key: str) -> bool:
    return key.partition(".")[0] in LOCAL_SECTIONS or key in LOCAL_KEYS


def test_every_remotely_editable_key_of_the_gateway_model_is_accepted() -> None:
    full = _full_gateway()
    remote = {key for key in _keys(full) if not _local(key)}
    assert LOCAL_SECTIONS | LOCAL_KEYS <= set(full) | _keys(full)  # names keys the gateway has
    assert "scale.kind" in remote and "flock.placed_on" in remote and "outbox.max_mb" in remote
    assert "alarm.farmer_phone" in remote and "alarm.modem" in remote
    for key in sorted(remote):
        section, _, sub = key.partition(".")
        one = {section: {sub: full[section][sub]}} if sub else {section: full[section]}
        if section == "scale":
            one["scale"] = {**ACCEPTED["scale"], **one["scale"]}  # serial needs its port alongside
        assert validate(one) == [], key
    everything = {section: value for section, value in full.items() if section not in LOCAL_SECTIONS}
    everything["outbox"] = {k: v for k, v in full["outbox"].items() if not _local(f"outbox.{k}")}
    assert validate(everything) == []
    for key in sorted(LOCAL_SECTIONS | LOCAL_KEYS):
        section, _, sub = key.partition(".")
        assert validate({section: {sub: full[section][sub]}} if sub else {section: full[section]}) != [], key
