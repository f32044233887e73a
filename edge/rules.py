"""Critical checks judged on the gateway, so the alert carries its true event time offline.

Pure: readings in, alert specs out. An alert fires when a threshold is crossed, repeats while
the condition lasts (every `repeat_after_s`), and clears with hysteresis so a value hovering
at the threshold does not flap.
"""

from __future__ import annotations

from dataclasses import dataclass

from edge.config import RuleSettings
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
    def __init__(self, settings: RuleSettings) -> None:
        self.settings = settings
        self._active: dict[tuple[str, str | None], int] = {}  # (type, house) -> last sent ts

    def _rules(self) -> list[_Rule]:
        s = self.settings
        rules = [
            _Rule("temperature_emergency", Metric.TEMPERATURE_C, s.temperature_emergency_c, True, 1.0,
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
        for rule in self._rules():
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
