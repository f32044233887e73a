"""Wires the rule families to the lifecycle for many farms: the pure core of the alert worker.

It takes data already read (flock histories, environment series, gateway snapshots) and
returns effects; the worker process around it reads from the database and hands the
effects to notification delivery. Regional alerts are derived from the farm alerts this
engine itself holds, so the three steps stay in one place.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from cloud.alerts.gateway_events import GatewayEvent
from cloud.alerts.lifecycle import AlertEngine, Effect
from cloud.alerts.model import (
    DEAD_BIRD,
    MORTALITY,
    REGIONAL_OUTBREAK,
    SUSPECTED_DISEASE,
    DeadBirdSighting,
    EnvSample,
    FlockHistory,
    GasDay,
    GatewaySnapshot,
    MortalityEvent,
)
from cloud.alerts.policy import Audience
from cloud.alerts.rules import check_environment, check_gateway, check_regional, evaluate_flock_day
from cloud.alerts.rules.dead_bird import check_dead_birds
from cloud.alerts.rules.result import end_of_day
from cloud.alerts.rules.sensor_drift import check_nh3_drift
from cloud.alerts.store import Alert
from cloud.alerts.thresholds import ThresholdBook
from farming.growth import ExpectedWeight

REGIONAL_INPUT_TYPES = (MORTALITY, SUSPECTED_DISEASE)


@dataclass(frozen=True)
class FarmInfo:
    farm: str
    name: str
    township: str | None = None
    township_name: str | None = None


class AlertService:
    def __init__(
        self,
        engine: AlertEngine,
        farms: Mapping[str, FarmInfo],
        thresholds: ThresholdBook | None = None,
    ) -> None:
        self.engine = engine
        self.farms = farms
        self.book = thresholds or ThresholdBook()

    def flock_day(
        self,
        history: FlockHistory,
        day: date,
        curve: ExpectedWeight | None = None,
        at: datetime | None = None,
    ) -> list[Effect]:
        ctx = history.context
        th = self.book.resolve(ctx.breed, ctx.farm, ctx.house)
        return self.engine.apply(evaluate_flock_day(history, day, th, curve, at))

    def environment(
        self,
        farm: str,
        house: str | None,
        samples: Sequence[EnvSample],
        at: datetime,
        breed: str | None = None,
        weight_g: float | None = None,
        age_days: int | None = None,
        usual_peak_thi: float | None = None,
    ) -> list[Effect]:
        th = self.book.resolve(breed, farm, house).environment
        return self.engine.apply(
            check_environment(samples, at, farm, house, th, weight_g, age_days, usual_peak_thi)
        )

    def nh3_drift(
        self, farm: str, house: str, days: Sequence[GasDay], at: datetime
    ) -> list[Effect]:
        th = self.book.resolve(None, farm, house).health
        return self.engine.apply(check_nh3_drift(farm, house, days, at, th))

    def gateway(self, snapshot: GatewaySnapshot) -> list[Effect]:
        th = self.book.resolve(None, snapshot.farm, None).health
        return self.engine.apply(check_gateway(snapshot, th))

    def gateway_event(self, event: GatewayEvent) -> list[Effect]:
        """A gateway's own rule verdict or a report of its local alarm (cloud/alerts/gateway_events.py)."""
        if not event.known:
            return []
        key = event.key()
        if event.cleared:
            return self.engine.clear(key, event.at)
        if event.alarm == "acknowledged":
            alert = self.engine.store.current(key)
            if alert is None or not alert.active:
                return []
            return self.engine.acknowledge(alert.id, by=f"gateway:{event.gateway}", at=event.at)
        told = frozenset({Audience.FARMER}) if event.sms_to else frozenset()
        effects = self.engine.observe(event.finding(), told=told)
        if event.alarm == "on":  # for the farmer's page and the console: the farm was warned
            self.engine.note(key, event.at, "local_alarm", f"gateway:{event.gateway}", "relay/buzzer on")
        return effects

    def dead_birds(self, sightings: Sequence[DeadBirdSighting], at: datetime) -> list[Effect]:
        """Judge every house with a recent sighting, and clear live alerts of houses without."""
        effects: list[Effect] = []
        for (farm, house), seen in sorted(self.dead_bird_houses(sightings).items()):
            effects += self.dead_birds_in(farm, house, seen, at)
        return effects

    def dead_bird_houses(
        self, sightings: Sequence[DeadBirdSighting]
    ) -> dict[tuple[str, str], list[DeadBirdSighting]]:
        """(farm, house) -> its sightings, for houses with a sighting or a live dead-bird alert."""
        by_house: dict[tuple[str, str], list[DeadBirdSighting]] = {}
        for sighting in sightings:
            by_house.setdefault((sighting.farm, sighting.house), []).append(sighting)
        for alert in self.engine.store.active():
            if alert.key.type == DEAD_BIRD and alert.key.farm and alert.key.house:
                by_house.setdefault((alert.key.farm, alert.key.house), [])
        return by_house

    def dead_birds_in(
        self, farm: str, house: str, seen: Sequence[DeadBirdSighting], at: datetime
    ) -> list[Effect]:
        th = self.book.resolve(None, farm, house).camera
        return self.engine.apply(check_dead_birds(farm, house, seen, at, th))

    def regional(self, at: datetime) -> list[Effect]:
        """Judge every township from the farm mortality alerts live in the window.

        An alert opened earlier but still open counts: an outbreak that spreads over a week
        is still one regional event.
        """
        th = self.book.resolve().regional
        since = at - timedelta(hours=th.window_hours)
        events = [
            MortalityEvent(
                farm=a.key.farm, township=info.township, at=max(a.opened_at, since), type=a.key.type
            )
            for a in self._recent(since, at)
            if a.key.farm is not None
            and (info := self.farms.get(a.key.farm)) is not None
            and info.township is not None
        ]
        evaluation = check_regional(events, at, th)
        # A township whose farm alerts have all aged out has no events at all: clear it too.
        judged = {f.key for f in evaluation.findings} | set(evaluation.cleared)
        for alert in self.engine.store.active():
            if alert.key.type == REGIONAL_OUTBREAK and alert.key not in judged:
                evaluation.cleared.append(alert.key)
        return self.engine.apply(evaluation)

    def end_of_day(self, day: date) -> list[Effect]:
        """Regional judgement and escalation/auto-resolve for the end of `day`."""
        at = end_of_day(day)
        return self.regional(at) + self.engine.tick(at)

    def _recent(self, since: datetime, until: datetime) -> list[Alert]:
        alerts = self.engine.store.overlapping(since, until)
        return [a for a in alerts if a.key.type in REGIONAL_INPUT_TYPES]
