"""`fuhuiyang demo --headless --json`: the whole platform on a few simulated days."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.support.databases import TestDatabase


@pytest.mark.slow
def test_demo_runs_end_to_end_and_loses_nothing(db: TestDatabase, mosquitto_factory, tmp_path) -> None:  # type: ignore[no-untyped-def]
    broker = mosquitto_factory()  # its own broker: gateway client ids must not meet another demo's
    env = os.environ | db.env() | {"FUHUIYANG_MQTT_URL": broker.url}
    done = subprocess.run(
        [sys.executable, "-m", "fuhuiyang", "demo", "--headless", "--json", "--days", "4",
         "--workdir", str(tmp_path)],
        env=env, capture_output=True, text=True, timeout=1500,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout)
    print({k: v for k, v in summary.items() if k not in ("alerts", "logins")})
    assert summary["farms"] == 24 and summary["gateways"] == 24 and summary["counties"] == 2
    assert summary["readings_published"] > 24 * 4 * 96
    assert summary["readings_stored"] == summary["readings_published"]
    assert summary["frames_published"] > 0
    assert summary["frames_stored"] == summary["frames_published"]
    assert summary["frames_judged"] == summary["frames_stored"]  # the detection worker saw every frame
    # Reports are checked against where the simulator's dead birds lay.
    assert summary["reports_on_a_carcass"] <= summary["dead_birds_reported"]
    assert summary["carcasses_reported"] <= min(summary["reports_on_a_carcass"], summary["dead_birds_in_view"])
    assert summary["alerts"] and summary["sms_sent"] > 0
    assert summary["sms_refused_by_provider"] == {}  # every SMS met Aliyun's rules (the local fake)
    assert all(a["event_time"] and a["raised_at"] and a["type"] for a in summary["alerts"])
    injected = {(event["kind"], event["farm_id"]) for event in summary["injected"]}
    assert ("sensor_fault", "F09") in injected  # humidity spikes on F09 from day 3 of the demo region
    assert len(summary["detected"]) == len(summary["injected"])
    assert {login["role"] for login in summary["logins"]} == {"farmer", "technician", "program_staff", "admin"}
