"""Critical checks judged on the gateway, so the alert carries its true event time offline.

Pure: readings in, alert specs out. An alert fires when a threshold is crossed, repeats while
the condition lasts (every `repeat_after_s`), and clears with hysteresis so a value hovering
at the threshold does not flap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from edge.config import FlockSettings, RuleSettings
from farming.climate import DEFAULT_LIMITS
from protocol.messages import Metric


@dataclass(frozen=True)
class AlertSpec:
    ts_ms: int
    type: str
    severity: str
    value: float
    threshold: float
    house: str | None
    message: str


@dataclass(frozen=True)
class _Rule:
    type: str
    metric: Metric
    threshold: float
    above: bool
    hysteresis: float
    text: str


class LocalRules:
    """`flock`: the birds the gateway knows (gateway.yaml); chicks are brooded at up to 36 °C, so
    for their house the emergency limit is at least farming's critical edge above their target."""

    def __init__(self, settings: RuleSettings, flock: FlockSettings | None = None,
                 utc_offset_h: float = 8.0) -> None:
        self.settings = settings
        self.flock = flock
        self.utc_offset_h = utc_offset_h
        self._active: dict[tuple[str, str | None], int] = {}  # (type, house) -> last sent ts

    def temperature_limit(self, ts_ms: int, house: str | None) -> float:
        limit = self.settings.temperature_emergency_c
        flock = self.flock
        if flock is None or (flock.house is not None and house is not None and house != flock.house):
            return limit
        local = datetime.fromtimestamp(ts_ms / 1000, UTC).astimezone(timezone(timedelta(hours=self.utc_offset_h)))
        age = (local.date() - flock.placed_on).days + flock.age_at_placement_days
        if age < 0:
            return limit  # no birds yet
        # By age alone (the smallest birds' weight leaves the age curve to decide).
        target = DEFAULT_LIMITS.target_temperature_c(DEFAULT_LIMITS.target_curve[0][0], age)
        return max(limit, round(target + DEFAULT_LIMITS.band_critical_c, 1))

    def _rules(self, ts_ms: int, house: str | None) -> list[_Rule]:
        s = self.settings
        rules = [
            _Rule("temperature_emergency", Metric.TEMPERATURE_C, self.temperature_limit(ts_ms, house), True, 1.0,
                  "house temperature {v:.1f} °C at or above the emergency limit {t:.1f} °C"),
            _Rule("nh3_critical", Metric.NH3_PPM, s.nh3_critical_ppm, True, 3.0,
                  "ammonia {v:.0f} ppm at or above {t:.0f} ppm"),
            _Rule("co2_critical", Metric.CO2_PPM, s.co2_critical_ppm, True, 300.0,
                  "CO2 {v:.0f} ppm at or above {t:.0f} ppm"),
        ]
        if s.temperature_low_c is not None:
            rules.append(_Rule("temperature_low", Metric.TEMPERATURE_C, s.temperature_low_c, False, 1.0,
                               "house temperature {v:.1f} °C at or below {t:.1f} °C"))
        return rules

    def observe(self, ts_ms: int, metric: Metric, value: float, house: str | None) -> list[AlertSpec]:
        out = []
        for rule in self._rules(ts_ms, house):
            if rule.metric != metric:
                continue
            key = (rule.type, house)
            firing = value >= rule.threshold if rule.above else value <= rule.threshold
            clear = (value < rule.threshold - rule.hysteresis) if rule.above else (
                value > rule.threshold + rule.hysteresis)
            last = self._active.get(key)
            if firing and (last is None or ts_ms - last >= self.settings.repeat_after_s * 1000):
                self._active[key] = ts_ms
                out.append(AlertSpec(ts_ms, rule.type, "critical", value, rule.threshold, house,
                                     rule.text.format(v=value, t=rule.threshold)))
            elif clear and last is not None:
                del self._active[key]
                out.append(AlertSpec(ts_ms, f"{rule.type}_cleared", "info", value, rule.threshold, house,
                                     f"{rule.type.replace('_', ' ')} cleared"))
        return out
