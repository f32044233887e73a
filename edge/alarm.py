"""The gateway's own alarm: a relay or buzzer, and an SMS from its modem, when nobody else can warn.

Pure state machine (no I/O): the agent feeds it the local rules' verdicts, whether the uplink
is up and which alert messages the cloud has stored, and carries out what it answers.

A critical condition (a local rule firing) is first *watching*: the alert message is queued
for the cloud, which tells people. If the uplink is down, or the cloud has not stored the
alert within `cloud_grace_s`, the condition starts *sounding*: the output switches on, the
farmer gets one short SMS from the modem (rate-limited), and a report says so (the cloud
reconciles when the link returns). Once the cloud has stored an alert for a watching
condition it is the cloud's (*told*). A sounding condition stops when it clears, or goes
*silenced* when a person acknowledges (the farm's button, or the app through the cloud).
The output is on while any condition sounds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from edge.rules import AlertSpec
from protocol.gateway_settings import AlarmSettings

CLEARED = "_cleared"
DAY_MS = 86_400_000


class State(StrEnum):
    WATCHING = "watching"  # queued for the cloud; the cloud may yet tell people
    TOLD = "told"  # the cloud stored the alert: its notifications are the cloud's job
    SOUNDING = "sounding"  # the local output is on for it
    SILENCED = "silenced"  # a person acknowledged; stays quiet until the condition clears


@dataclass(frozen=True)
class Report:
    """What the agent sends the cloud about the local alarm (an Alert message, protocol 1.3)."""

    spec: AlertSpec
    alarm: str  # on | acknowledged | off
    since_ms: int
    sms_to: tuple[str, ...] = ()


@dataclass(frozen=True)
class Text:
    phone: str
    text: str
    key: tuple[str, str | None]


Action = Report | Text


@dataclass
class Condition:
    spec: AlertSpec  # the latest firing
    since_ms: int
    seqs: list[int] = field(default_factory=list)
    state: State = State.WATCHING


class SmsLimiter:
    """At most one SMS per `min_interval_s`, and `max_per_day` in any 24 hours (event time)."""

    def __init__(self, min_interval_s: float, max_per_day: int) -> None:
        self.min_interval_ms = int(min_interval_s * 1000)
        self.max_per_day = max_per_day
        self.sent: list[int] = []
        self.refused = 0

    def allow(self, now_ms: int) -> bool:
        self.sent = [t for t in self.sent if now_ms - t < DAY_MS]
        if len(self.sent) >= self.max_per_day or (self.sent and now_ms - self.sent[-1] < self.min_interval_ms):
            self.refused += 1
            return False
        return True

    def record(self, now_ms: int) -> None:
        self.sent.append(now_ms)


class LocalAlarm:
    def __init__(self, settings: AlarmSettings) -> None:
        self.settings = settings
        self.conditions: dict[tuple[str, str | None], Condition] = {}
        self.limiter = SmsLimiter(settings.modem.min_interval_s, settings.modem.max_per_day)

    def configure(self, settings: AlarmSettings) -> None:
        self.settings = settings
        self.limiter.min_interval_ms = int(settings.modem.min_interval_s * 1000)
        self.limiter.max_per_day = settings.modem.max_per_day

    @property
    def output_on(self) -> bool:
        return any(c.state is State.SOUNDING for c in self.conditions.values())

    def observe(self, spec: AlertSpec, seq: int | None) -> list[Action]:
        """A local rule's verdict (a firing or a `*_cleared`), with the seq of its alert message."""
        if spec.type.endswith(CLEARED):
            return self._cleared(spec)
        if spec.severity != "critical":
            return []
        key = (spec.type, spec.house)
        cond = self.conditions.get(key)
        if cond is None:
            cond = self.conditions[key] = Condition(spec, spec.ts_ms)
        cond.spec = spec
        if seq is not None:
            cond.seqs.append(seq)
        return []

    @property
    def fitted(self) -> bool:
        """An output or a modem to warn with: without either the gateway only reports its rules."""
        return self.settings.output is not None or self.settings.modem.enabled

    def step(self, now_ms: int, link_up: bool, cloud_has: Callable[[int], bool]) -> list[Action]:
        """Judge the watching conditions: the cloud has them, or the alarm sounds."""
        out: list[Action] = []
        if not self.fitted:
            return out
        grace_ms = int(self.settings.cloud_grace_s * 1000)
        for key, cond in sorted(self.conditions.items(), key=lambda kv: kv[1].since_ms):
            if cond.state is not State.WATCHING:
                continue
            if any(cloud_has(s) for s in cond.seqs):
                cond.state = State.TOLD
            elif not link_up or now_ms - cond.since_ms >= grace_ms:
                out += self._sound(key, cond, now_ms)
        return out

    def acknowledge(self, now_ms: int) -> list[Action]:
        """The farm's button: every sounding condition goes quiet until it clears."""
        out: list[Action] = []
        for cond in self.conditions.values():
            if cond.state is State.SOUNDING:
                cond.state = State.SILENCED
                out.append(Report(_at(cond.spec, now_ms), "acknowledged", cond.since_ms))
        return out

    def acknowledge_from_app(self, now_ms: int, house: str | None, types: Sequence[str],
                             before_ms: int) -> list[Action]:
        """A person acknowledged the alert in the app (the cloud's AlarmAck): the conditions of
        these rules in this house that began by `before_ms` go quiet, sounding or not yet;
        a condition that began later is news and is left alone."""
        out: list[Action] = []
        for (kind, where), cond in self.conditions.items():
            if kind not in types or where != house or cond.since_ms > before_ms:
                continue
            if cond.state is State.SOUNDING:
                out.append(Report(_at(cond.spec, now_ms), "acknowledged", cond.since_ms))
            cond.state = State.SILENCED
        return out

    def _sound(self, key: tuple[str, str | None], cond: Condition, now_ms: int) -> list[Action]:
        cond.state = State.SOUNDING
        out: list[Action] = []
        phone = self.settings.farmer_phone
        sent: tuple[str, ...] = ()
        if self.settings.modem.enabled and phone and self.limiter.allow(now_ms):
            self.limiter.record(now_ms)
            out.append(Text(phone, sms_text(cond.spec), key))
            sent = (phone,)
        out.insert(0, Report(_at(cond.spec, now_ms), "on", cond.since_ms, sent))
        return out

    def _cleared(self, spec: AlertSpec) -> list[Action]:
        key = (spec.type.removesuffix(CLEARED), spec.house)
        cond = self.conditions.pop(key, None)
        if cond is None or cond.state is not State.SOUNDING:
            return []
        return [Report(spec, "off", cond.since_ms)]

    def unsent(self, text: Text) -> None:
        """The modem failed: the report must not claim the SMS went (the cloud will text)."""
        if self.limiter.sent:
            self.limiter.sent.pop()


def _at(spec: AlertSpec, now_ms: int) -> AlertSpec:
    return AlertSpec(now_ms, spec.type, spec.severity, spec.value, spec.threshold, spec.house, spec.message)


_WHAT = {
    "temperature_emergency": "温度{v:.1f}℃，达到{t:.0f}℃上限",
    "temperature_low": "温度{v:.1f}℃，低于{t:.0f}℃下限",
    "nh3_critical": "氨气{v:.0f}ppm，达到{t:.0f}ppm上限",
    "co2_critical": "二氧化碳{v:.0f}ppm，达到{t:.0f}ppm上限",
}


def sms_text(spec: AlertSpec) -> str:
    """One short SMS (one segment: at most 70 characters) in Chinese, the farmer's language."""
    what = _WHAT.get(spec.type, "{v:.1f}，超过{t:.1f}").format(v=spec.value, t=spec.threshold)
    place = f"鸡舍{spec.house}" if spec.house else "鸡舍"
    text = f"【富慧养】{place}{what}。网络已断，请马上查看通风和鸡群。"
    return text[:70]
