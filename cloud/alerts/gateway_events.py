"""The gateway's own rules (edge/rules.py) as evidence for the alert engine.

A gateway judges every reading of its critical limits, offline too, and sends each verdict as
an `alert` message (stored in `gateway_events`). Each maps onto the key of the cloud rule that
watches the same condition, so a hot house is one alert whoever saw it first: the gateway's
event time is the onset, the cloud's hourly verdicts add to it. Reports of the gateway's local
alarm (protocol 1.3) say who it already told by SMS, and when a person silenced it on the farm.
Pure: events in, engine calls out (cloud/alerts/service.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from cloud.alerts.lifecycle import GATEWAY_SOURCE
from cloud.alerts.model import (
    CO2_HIGH,
    HEAT_STRESS,
    NH3_HIGH,
    TEMPERATURE_BAND,
    AlertKey,
    Finding,
    Severity,
)
from protocol import AlarmAck

CLEARED = "_cleared"
# gateway rule -> (cloud alert type, the cloud rule's name for the same verdict). A hot house of
# feathered birds is heat stress in the cloud (THI, with humidity; the temperature band judges
# "too hot" only for brooded chicks), so the gateway's emergency joins that alert.
GATEWAY_RULES: dict[str, tuple[str, str]] = {
    "temperature_emergency": (HEAT_STRESS, "thi_emergency"),
    "temperature_low": (TEMPERATURE_BAND, "too_cold"),
    "nh3_critical": (NH3_HIGH, "nh3_above"),
    "co2_critical": (CO2_HIGH, "co2_above"),
}


@dataclass(frozen=True)
class GatewayEvent:
    """One stored `alert` message of a gateway, with the farm the gateway belongs to."""

    gateway: str
    seq: int
    farm: str
    at: datetime
    type: str
    severity: str
    house: str | None = None
    value: float | None = None
    threshold: float | None = None
    alarm: str | None = None  # on | acknowledged | off (1.3)
    since: datetime | None = None
    sms_to: tuple[str, ...] = field(default_factory=tuple)

    @property
    def rule(self) -> str:
        return self.type.removesuffix(CLEARED)

    @property
    def cleared(self) -> bool:
        return self.type.endswith(CLEARED)

    @property
    def known(self) -> bool:
        return self.rule in GATEWAY_RULES

    def key(self) -> AlertKey:
        return AlertKey(self.farm, self.house, GATEWAY_RULES[self.rule][0])

    def finding(self) -> Finding:
        """The verdict at its onset (a report of the local alarm names it in `since`)."""
        kind, rule = GATEWAY_RULES[self.rule]
        evidence: dict[str, object] = {"source": GATEWAY_SOURCE, "gateway": self.gateway, "seq": self.seq,
                                       "gateway_rule": self.rule}
        if self.alarm == "on":
            evidence["local_alarm"] = True
        if self.sms_to:
            evidence["sms_by_gateway"] = len(self.sms_to)
        return Finding(
            key=self.key(),
            severity=Severity.parse(self.severity),
            at=self.since or self.at,
            rule=rule,
            value=self.value,
            threshold=self.threshold,
            evidence=evidence,
        )


def alarm_acks(alert_type: str, house: str | None, gateways: list[str], at: datetime) -> list[AlarmAck]:
    """What tells a farm's gateways that a person acknowledged this alert in the app, so their
    local alarm for the same condition goes quiet; none for an alert no gateway rule feeds."""
    rules = sorted(rule for rule, (kind, _) in GATEWAY_RULES.items() if kind == alert_type)
    if not rules:
        return []
    ts = int(at.timestamp() * 1000)
    return [AlarmAck(gateway_id=gw, ts=ts, house=house, types=rules) for gw in gateways]
