from __future__ import annotations

from datetime import timedelta

from cloud.alerts.model import (
    CameraHealth,
    GatewaySnapshot,
    MortalityEvent,
    SensorHealth,
    Severity,
)
from cloud.alerts.rules import check_gateway, check_regional
from cloud.alerts.thresholds import DEFAULTS
from tests.alerts.factories import T0

HT = DEFAULTS.health
S = timedelta(seconds=1)


def _snap(**kw: object) -> GatewaySnapshot:
    base: dict[str, object] = {
        "gateway": "gw-1",
        "farm": "farm-1",
        "at": T0,
        "last_seen": T0 - 10 * S,
    }
    base.update(kw)
    return GatewaySnapshot(**base)  # type: ignore[arg-type]


def _types(snap: GatewaySnapshot) -> dict[str, object]:
    return {f.type: f for f in check_gateway(snap, HT).findings}


def test_offline_after_three_missed_heartbeats() -> None:
    assert "gateway_offline" not in _types(_snap(last_seen=T0 - 180 * S))
    found = _types(_snap(last_seen=T0 - 181 * S))
    assert "gateway_offline" in found
    evaluation = check_gateway(_snap(last_seen=T0 - 181 * S), HT)
    # While silent, its sensors' states are stale: neither raised nor cleared.
    assert {k.type for k in evaluation.no_data} >= {"sensor_fault", "clock_skew"}


def test_last_will_is_offline_at_once_and_a_day_is_critical() -> None:
    finding = check_gateway(_snap(last_will=True), HT).findings[0]
    assert finding.rule == "last_will"
    day_old = check_gateway(_snap(last_seen=T0 - timedelta(hours=25)), HT).findings[0]
    assert day_old.severity is Severity.CRITICAL


def test_never_seen_gateway_is_not_offline() -> None:
    assert check_gateway(_snap(last_seen=None), HT).findings == []


def test_sensor_and_camera_faults_are_one_alert_each_per_gateway() -> None:
    snap = _snap(
        sensors=(
            SensorHealth("t1", "ok"),
            SensorHealth("nh3", "fault", house="h1", faults=("stuck",)),
            SensorHealth("rh", "missing"),
        ),
        cameras=(CameraHealth("cam1", "blind", house="h1"), CameraHealth("cam2", "ok")),
    )
    found = check_gateway(snap, HT).findings
    by_type = {f.type: f for f in found}
    assert by_type["sensor_fault"].value == 2
    assert by_type["camera_blind"].value == 1
    assert by_type["sensor_fault"].key.subject == "gw-1"
    healthy = check_gateway(_snap(sensors=(SensorHealth("t1", "ok"),)), HT)
    assert [k.type for k in healthy.cleared if k.type == "sensor_fault"] == ["sensor_fault"]


def test_outbox_backlog_growing() -> None:
    growing = tuple((T0 - (4 - i) * 60 * S, d) for i, d in enumerate([300, 400, 500, 600]))
    assert "outbox_backlog" in _types(_snap(outbox_depths=growing))
    draining = tuple((T0 - (4 - i) * 60 * S, d) for i, d in enumerate([900, 800, 700, 600]))
    assert "outbox_backlog" not in _types(_snap(outbox_depths=draining))
    small = tuple((T0 - (4 - i) * 60 * S, d) for i, d in enumerate([10, 20, 30, 40]))
    assert "outbox_backlog" not in _types(_snap(outbox_depths=small))


def test_clock_skew_edges() -> None:
    assert "clock_skew" not in _types(_snap(clock_offset_s=-30.0))
    found = check_gateway(_snap(clock_offset_s=-31.0), HT).findings
    assert found[0].severity is Severity.WARNING
    found = check_gateway(_snap(clock_offset_s=900.0), HT).findings
    assert found[0].severity is Severity.CRITICAL


def _event(farm: str, township: str, hours_ago: float) -> MortalityEvent:
    return MortalityEvent(farm=farm, township=township, at=T0 - timedelta(hours=hours_ago))


def test_regional_needs_three_farms_in_one_township_within_72h() -> None:
    events = [_event("a", "qinghua", 70), _event("b", "qinghua", 20), _event("a", "qinghua", 1)]
    assert check_regional(events, T0, DEFAULTS.regional).findings == []
    events.append(_event("c", "qinghua", 0))
    result = check_regional(events, T0, DEFAULTS.regional)
    assert len(result.findings) == 1
    finding = result.findings[0]
    assert finding.key.region == "qinghua" and finding.key.farm is None
    assert finding.evidence["farms"] == ["a", "b", "c"]


def test_regional_ignores_other_townships_and_old_events() -> None:
    events = [_event("a", "qinghua", 73), _event("b", "qinghua", 2), _event("c", "longtan", 1)]
    result = check_regional(events, T0, DEFAULTS.regional)
    assert result.findings == []
    assert {k.region for k in result.cleared} == {"qinghua", "longtan"}


def test_regional_alert_resolves_once_the_farm_alerts_age_out() -> None:
    from cloud.alerts.lifecycle import AlertEngine
    from cloud.alerts.model import MORTALITY, AlertKey, Finding
    from cloud.alerts.service import AlertService, FarmInfo
    from cloud.alerts.store import State

    farms = {f: FarmInfo(f, f, "qinghua") for f in ("a", "b", "c")}
    engine = AlertEngine()
    service = AlertService(engine, farms)
    for i, farm in enumerate(farms):
        key = AlertKey(farm, "1", MORTALITY)
        engine.observe(Finding(key, Severity.CRITICAL, T0 + timedelta(hours=i), "pct_24h"))
        engine.clear(key, T0 + timedelta(hours=i + 1))
    service.regional(T0 + timedelta(hours=3))
    regional = [a for a in engine.store.active() if a.key.type == "regional_outbreak"]
    assert len(regional) == 1
    engine.tick(T0 + timedelta(days=2))  # the farm alerts resolve after their clear day
    service.regional(T0 + timedelta(days=6))  # ... and age out of the 72-h window
    assert regional[0].state is State.OPEN  # clear, held for 30 minutes
    service.regional(T0 + timedelta(days=6, hours=1))
    assert regional[0].state is State.RESOLVED
