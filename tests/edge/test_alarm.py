"""The gateway's local alarm: its state machine, the modem's rate limit and the SMS text (pure)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cloud.notify.segments import count_segments
from edge.agent import Agent, Devices
from edge.alarm import LocalAlarm, Report, SmsLimiter, State, Text, sms_text
from edge.config import parse_config
from edge.outbox import Outbox
from edge.remote import ConfigStore
from edge.rules import AlertSpec
from edge.uplink import Uplink
from protocol.gateway_settings import AlarmOutput, AlarmSettings, ModemSettings
from protocol.messages import Alert
from tests.edge.harness import ManualClock, ScriptedSensor

T0 = 1_780_000_000_000
S = 1000
PHONE = "+8613800000001"


def _settings(modem: bool = True, output: bool = True, **kw: float) -> AlarmSettings:
    return AlarmSettings(output=AlarmOutput() if output else None, modem=ModemSettings(enabled=modem, **kw),
                         farmer_phone=PHONE, cloud_grace_s=30)


def hot(t: int, value: float = 36.5, house: str | None = "h1") -> AlertSpec:
    return AlertSpec(t, "temperature_emergency", "critical", value, 35.0, house, "hot")


def cleared(t: int, house: str | None = "h1") -> AlertSpec:
    return AlertSpec(t, "temperature_emergency_cleared", "info", 33.5, 35.0, house, "cleared")


def nothing_stored(seq: int) -> bool:
    return False


def test_offline_condition_sounds_at_once_and_texts_the_farmer_once() -> None:
    alarm = LocalAlarm(_settings())
    alarm.observe(hot(T0), seq=7)
    actions = alarm.step(T0, link_up=False, cloud_has=nothing_stored)
    assert alarm.output_on
    reports = [a for a in actions if isinstance(a, Report)]
    texts = [a for a in actions if isinstance(a, Text)]
    assert [(r.alarm, r.since_ms, r.sms_to) for r in reports] == [("on", T0, (PHONE,))]
    assert [t.phone for t in texts] == [PHONE]
    # The condition repeats while it lasts: no second report, no second SMS.
    alarm.observe(hot(T0 + 1800 * S, 37.0), seq=9)
    assert alarm.step(T0 + 1800 * S, link_up=False, cloud_has=nothing_stored) == []
    assert alarm.output_on


def test_the_cloud_storing_the_alert_in_time_keeps_the_alarm_quiet() -> None:
    alarm = LocalAlarm(_settings())
    alarm.observe(hot(T0), seq=3)
    assert alarm.step(T0 + 1 * S, link_up=True, cloud_has=nothing_stored) == []  # within the grace
    assert alarm.step(T0 + 2 * S, link_up=True, cloud_has=lambda seq: seq == 3) == []
    assert alarm.conditions[("temperature_emergency", "h1")].state is State.TOLD
    # The link drops later: the cloud has told people already, the farm is not woken twice.
    assert alarm.step(T0 + 600 * S, link_up=False, cloud_has=nothing_stored) == []
    assert not alarm.output_on


def test_connected_but_nothing_stored_within_the_grace_sounds() -> None:
    """Ingest down, a broker that accepts but a cloud that stores nothing: nobody is told."""
    alarm = LocalAlarm(_settings(modem=False))
    alarm.observe(hot(T0), seq=3)
    assert alarm.step(T0 + 29 * S, link_up=True, cloud_has=nothing_stored) == []
    actions = alarm.step(T0 + 30 * S, link_up=True, cloud_has=nothing_stored)
    assert [(a.alarm, a.sms_to) for a in actions if isinstance(a, Report)] == [("on", ())]
    assert not [a for a in actions if isinstance(a, Text)]  # no modem: no SMS
    assert alarm.output_on


def test_clearing_switches_off_and_a_new_episode_sounds_again() -> None:
    alarm = LocalAlarm(_settings(min_interval_s=60))
    alarm.observe(hot(T0), seq=1)
    alarm.step(T0, link_up=False, cloud_has=nothing_stored)
    off = alarm.observe(cleared(T0 + 600 * S), seq=2)
    assert [(r.alarm, r.since_ms) for r in off if isinstance(r, Report)] == [("off", T0)]
    assert not alarm.output_on and alarm.conditions == {}
    alarm.observe(hot(T0 + 900 * S), seq=3)
    again = alarm.step(T0 + 900 * S, link_up=False, cloud_has=nothing_stored)
    assert alarm.output_on
    assert [(r.alarm, r.since_ms) for r in again if isinstance(r, Report)] == [("on", T0 + 900 * S)]


def test_acknowledgement_silences_until_the_condition_clears() -> None:
    alarm = LocalAlarm(_settings())
    alarm.observe(hot(T0, house="h1"), seq=1)
    alarm.observe(AlertSpec(T0, "nh3_critical", "critical", 31.0, 25.0, "h2", "nh3"), seq=2)
    alarm.step(T0, link_up=False, cloud_has=nothing_stored)
    acks = alarm.acknowledge(T0 + 60 * S)
    assert sorted(r.spec.type for r in acks if isinstance(r, Report) and r.alarm == "acknowledged") == [
        "nh3_critical", "temperature_emergency"]
    assert not alarm.output_on
    alarm.observe(hot(T0 + 1800 * S), seq=3)  # still hot: stays silenced
    assert alarm.step(T0 + 1800 * S, link_up=False, cloud_has=nothing_stored) == []
    assert not alarm.output_on
    assert alarm.observe(cleared(T0 + 2000 * S), seq=4) == []  # nothing sounded: no "off" report
    alarm.observe(hot(T0 + 2400 * S), seq=5)
    alarm.step(T0 + 2400 * S, link_up=False, cloud_has=nothing_stored)
    assert alarm.output_on  # a new episode sounds again


def test_warnings_and_unknown_clears_never_sound() -> None:
    alarm = LocalAlarm(_settings())
    alarm.observe(AlertSpec(T0, "temperature_emergency", "warning", 35.2, 35.0, "h1", ""), seq=1)
    assert alarm.observe(cleared(T0), seq=2) == []
    assert alarm.step(T0 + 60 * S, link_up=False, cloud_has=nothing_stored) == []


def test_modem_rate_limit_one_per_interval_and_a_daily_cap() -> None:
    limiter = SmsLimiter(min_interval_s=1800, max_per_day=3)
    sent = []
    for minute in range(0, 24 * 60, 10):  # asked every ten minutes for a day
        t = T0 + minute * 60 * S
        if limiter.allow(t):
            limiter.record(t)
            sent.append(minute)
    assert sent == [0, 30, 60]  # half an hour apart, then the day's cap
    assert limiter.refused == 24 * 6 - 3
    assert limiter.allow(T0 + 24 * 3600 * S)  # a day after the first, one is free again


def test_modem_rate_limit_across_houses() -> None:
    """Two houses overheating at once: one SMS (the limit is the gateway's, not per house)."""
    alarm = LocalAlarm(_settings())
    alarm.observe(hot(T0, house="h1"), seq=1)
    alarm.observe(hot(T0 + 5 * S, house="h2"), seq=2)
    actions = alarm.step(T0 + 5 * S, link_up=False, cloud_has=nothing_stored)
    assert len([a for a in actions if isinstance(a, Text)]) == 1
    assert sorted(r.sms_to for r in actions if isinstance(r, Report)) == [(), (PHONE,)]


def test_sms_text_is_short_chinese_and_the_report_fits_the_wire_contract() -> None:
    text = sms_text(hot(T0, 38.25, house="house-12"))
    assert "38.2" in text and "35" in text and "鸡舍house-12" in text
    assert count_segments(text).count == 1
    for kind, value in (("nh3_critical", 48.0), ("co2_critical", 5200.0), ("temperature_low", 12.0)):
        assert count_segments(sms_text(AlertSpec(T0, kind, "critical", value, 30.0, "h1", ""))).count == 1
    alert = Alert(gateway_id="gw-1", seq=1, ts=T0, house="h1", type="temperature_emergency",
                  severity="critical", alarm="on", since=T0, sms_to=[PHONE])
    assert Alert.model_validate_json(alert.model_dump_json()).sms_to == [PHONE]


def test_app_acknowledgement_silences_only_that_house_and_older_conditions() -> None:
    alarm = LocalAlarm(_settings())
    alarm.observe(hot(T0, house="h1"), seq=1)
    alarm.observe(hot(T0, house="h2"), seq=2)
    alarm.step(T0, link_up=False, cloud_has=nothing_stored)
    acks = alarm.acknowledge_from_app(T0 + 60 * S, "h1", ["temperature_emergency", "temperature_low"], T0 + 30 * S)
    assert [(r.spec.house, r.alarm) for r in acks if isinstance(r, Report)] == [("h1", "acknowledged")]
    assert alarm.output_on  # h2 still sounds
    # The retained acknowledgement replayed on a reconnect: a condition that began after it is news.
    alarm.observe(cleared(T0 + 600 * S, house="h1"), seq=3)
    alarm.observe(hot(T0 + 900 * S, house="h1"), seq=4)
    assert alarm.acknowledge_from_app(T0 + 901 * S, "h1", ["temperature_emergency"], T0 + 30 * S) == []
    alarm.step(T0 + 901 * S, link_up=False, cloud_has=nothing_stored)
    assert alarm.conditions[("temperature_emergency", "h1")].state is State.SOUNDING
    # Acknowledged in the app before the gateway's grace ran out: it never sounds.
    quiet = LocalAlarm(_settings())
    quiet.observe(hot(T0, house="h3"), seq=5)
    quiet.acknowledge_from_app(T0 + 5 * S, "h3", ["temperature_emergency"], T0 + 5 * S)
    assert quiet.step(T0 + 60 * S, link_up=True, cloud_has=nothing_stored) == [] and not quiet.output_on


def test_a_gateway_without_output_or_modem_only_reports_its_rules() -> None:
    alarm = LocalAlarm(_settings(modem=False, output=False))
    alarm.observe(hot(T0), seq=1)
    assert alarm.step(T0 + 60 * S, link_up=False, cloud_has=nothing_stored) == []
    assert not alarm.output_on


class _DeadOutput:
    """A relay module that does not answer (unplugged)."""

    def __init__(self) -> None:
        self.tries = 0

    def switch(self, on: bool) -> None:
        from edge.drivers import DriverError

        self.tries += 1
        raise DriverError("no answer")

    def button_pressed(self) -> bool:
        return False


def test_a_dead_alarm_output_is_retried_later_not_every_loop_step(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    mono = [0.0]
    doc: dict[str, Any] = {
        "gateway_id": "gw-1", "data_dir": str(tmp_path),
        "sensors": [{"id": "th1", "unit": 1, "interval_s": 60, "house": "h1", "registers": [
            {"metric": "temperature_c", "address": 1, "type": "int16", "scale": 0.1},
            {"metric": "nh3_ppm", "address": 2, "scale": 0.1}]}],
        "alarm": {"output": {"unit": 240}},
    }
    config = parse_config(doc)
    output = _DeadOutput()
    agent = Agent(config, doc, clock, Outbox(tmp_path / "outbox.db"),
                  Devices({"th1": ScriptedSensor(clock, lambda t: 37.0)}, alarm=output),
                  ConfigStore(tmp_path / "remote.json"), software="test",
                  uplink_factory=lambda c: Uplink(c.mqtt, c.gateway_id), mono=lambda: mono[0])
    for _ in range(50):  # ten seconds of loop steps: one try
        agent.step()
        mono[0] += 0.2
    assert output.tries == 1 and agent.errors["alarm output"] == 1
    mono[0] += 10
    agent.step()
    assert output.tries == 2
    assert agent.alarm.output_on  # the condition still sounds: the output is tried again later


def test_brooding_chicks_do_not_sound_the_alarm_at_their_target_temperature() -> None:
    """Day-old chicks are kept near 36 °C: for their house the emergency limit follows farming's
    target by age plus its critical band, never below the configured 35 °C."""
    from datetime import UTC, datetime, timedelta

    from edge.rules import LocalRules
    from protocol.gateway_settings import FlockSettings, RuleSettings
    from protocol.messages import Metric

    today = datetime.fromtimestamp(T0 / 1000, UTC).date()
    chicks = LocalRules(RuleSettings(), FlockSettings(placed_on=today - timedelta(days=2), house="h1"), 0.0)
    assert chicks.observe(T0, Metric.TEMPERATURE_C, 37.5, "h1") == []
    assert [a.type for a in chicks.observe(T0, Metric.TEMPERATURE_C, 35.5, "h2")] == ["temperature_emergency"]
    hot = chicks.observe(T0 + 60 * S, Metric.TEMPERATURE_C, 42.5, "h1")
    assert [a.type for a in hot] == ["temperature_emergency"] and hot[0].threshold > 40
    grown = LocalRules(RuleSettings(), FlockSettings(placed_on=today - timedelta(days=30), house="h1"), 0.0)
    assert [a.threshold for a in grown.observe(T0, Metric.TEMPERATURE_C, 35.5, "h1")] == [35.0]


def test_a_one_reading_spike_does_not_sound_the_alarm(tmp_path: Path) -> None:
    """A transmitter's spike (24 °C, then one reading of 38 °C, then 24 °C) is not a hot house:
    no local rule fires, nothing sounds; a real rise (2 °C a reading) does."""
    clock = ManualClock(T0)
    temps = iter([24.0, 24.1, 24.0, 24.2, 24.1, 24.0, 38.0, 24.1, 24.0, 26.0, 28.0, 30.0, 32.0, 34.0, 35.5])
    doc: dict[str, Any] = {
        "gateway_id": "gw-1", "data_dir": str(tmp_path),
        "sensors": [{"id": "th1", "unit": 1, "interval_s": 60, "house": "h1", "registers": [
            {"metric": "temperature_c", "address": 1, "type": "int16", "scale": 0.1},
            {"metric": "nh3_ppm", "address": 2, "scale": 0.1}]}],
        "alarm": {"output": {"unit": 240}},
    }
    config = parse_config(doc)
    output = _Recorder()
    values: dict[int, float] = {}

    def temp(t: int) -> float:
        if t not in values:
            values[t] = next(temps)
        return values[t]

    agent = Agent(config, doc, clock, Outbox(tmp_path / "outbox.db"),
                  Devices({"th1": ScriptedSensor(clock, temp)}, alarm=output),
                  ConfigStore(tmp_path / "remote.json"), software="test",
                  uplink_factory=lambda c: Uplink(c.mqtt, c.gateway_id))
    agent.step()
    for _ in range(8):
        clock.now += 60 * S
        agent.step()
    assert output.states == [False]  # switched off at start, never on for the spike
    for _ in range(6):
        clock.now += 60 * S
        agent.step()
    assert output.states == [False, True]
    assert agent.errors == {}


class _Recorder:
    def __init__(self) -> None:
        self.states: list[bool] = []

    def switch(self, on: bool) -> None:
        self.states.append(on)

    def button_pressed(self) -> bool:
        return False
