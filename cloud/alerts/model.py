"""Plain typed inputs and outputs of the alert rules.

Rules read these and return `Finding`s; they never touch a database or a broker. All
timestamps are event time (the device's clock), timezone-aware UTC.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import IntEnum
from typing import Any


class Severity(IntEnum):
    """Ordered so that `max()` picks the most serious."""

    INFO = 10
    WARNING = 20
    CRITICAL = 30

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.upper()]
        except KeyError:
            raise ValueError(f"unknown severity {text!r}; use info, warning or critical") from None


# Alert types, one per condition family; the key (farm, house, type) deduplicates.
MORTALITY = "mortality"
SUSPECTED_DISEASE = "suspected_notifiable_disease"
EGG_DROP = "egg_drop"
WATER_DROP = "water_drop"
WATER_FLAT = "water_flat"
WATER_SURGE = "water_surge"
WEIGHT_BELOW_CURVE = "weight_below_curve"
WEIGHT_GAIN_SLOW = "weight_gain_slow"
UNIFORMITY_FALLING = "uniformity_falling"
TEMPERATURE_BAND = "temperature_out_of_band"
TEMPERATURE_CHANGE = "temperature_fast_change"
HEAT_STRESS = "heat_stress"
# Far hotter than the house's past week (the day heat kills), beyond the summer's daily heat.
HEAT_WAVE = "heat_wave"
NH3_HIGH = "nh3_high"
CO2_HIGH = "co2_high"
HUMIDITY_RANGE = "humidity_out_of_range"
GATEWAY_OFFLINE = "gateway_offline"
SENSOR_FAULT = "sensor_fault"
CAMERA_BLIND = "camera_blind"
OUTBOX_BACKLOG = "outbox_backlog"
CLOCK_SKEW = "clock_skew"
SENSOR_DRIFT = "sensor_drift"  # a gas reading that no longer follows the house's ventilation
REGIONAL_OUTBREAK = "regional_outbreak"
DEAD_BIRD = "dead_bird"  # the camera detector saw a carcass lie still
# A written value that cannot be right (a slipped decimal point, more eggs than hens, two
# columns swapped): a question to the person who wrote it, not an alert about the birds.
RECORD_SUSPECT = "record_suspect"

FLOCK_TYPES = (
    MORTALITY,
    SUSPECTED_DISEASE,
    EGG_DROP,
    WATER_DROP,
    WATER_FLAT,
    WATER_SURGE,
    WEIGHT_BELOW_CURVE,
    WEIGHT_GAIN_SLOW,
    UNIFORMITY_FALLING,
)
ENVIRONMENT_TYPES = (
    TEMPERATURE_BAND,
    TEMPERATURE_CHANGE,
    HEAT_STRESS,
    HEAT_WAVE,
    NH3_HIGH,
    CO2_HIGH,
    HUMIDITY_RANGE,
)
HEALTH_TYPES = (
    GATEWAY_OFFLINE,
    SENSOR_FAULT,
    SENSOR_DRIFT,
    CAMERA_BLIND,
    OUTBOX_BACKLOG,
    CLOCK_SKEW,
)
ALL_TYPES = (
    *FLOCK_TYPES,
    *ENVIRONMENT_TYPES,
    *HEALTH_TYPES,
    DEAD_BIRD,
    REGIONAL_OUTBREAK,
    RECORD_SUSPECT,
)


@dataclass(frozen=True)
class AlertKey:
    """What deduplicates: one live alert per (farm, house, type).

    Regional alerts have no farm and use `region`; health alerts name the gateway in
    `subject`, so two gateways on one farm do not share an alert.
    """

    farm: str | None
    house: str | None
    type: str
    region: str | None = None
    subject: str | None = None

    def __str__(self) -> str:
        scope = self.farm if self.farm is not None else f"region:{self.region}"
        tail = f"@{self.subject}" if self.subject else ""
        return f"{scope}/{self.house or '-'}/{self.type}{tail}"


@dataclass(frozen=True)
class Finding:
    """One rule's verdict that a condition holds at event time `at`."""

    key: AlertKey
    severity: Severity
    at: datetime
    rule: str
    value: float | None = None
    threshold: float | None = None
    evidence: Mapping[str, Any] = field(default_factory=dict)

    @property
    def type(self) -> str:
        return self.key.type


@dataclass(frozen=True)
class FlockContext:
    farm: str
    house: str | None
    birds_placed: int
    breed: str | None = None
    placed_on: date | None = None

    def age_days(self, day: date) -> int | None:
        return None if self.placed_on is None else (day - self.placed_on).days


@dataclass(frozen=True)
class DailyRecord:
    """One day of a flock: farmer entries and/or daily aggregates of sensor data."""

    day: date
    deaths: int
    birds: int | None = None  # birds alive at the start of the day, when recorded
    water_l: float | None = None
    feed_kg: float | None = None
    mean_weight_g: float | None = None
    uniformity_pct: float | None = None
    eggs: int | None = None


@dataclass(frozen=True)
class Suspect:
    """One written value not believed: left out of every rule and baseline, and asked about."""

    day: date
    column: str
    value: str  # as written
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"date": self.day.isoformat(), "column": self.column, "value": self.value,
                "reason": self.reason}


class FlockHistory:
    """A flock's daily records by date, with the flock size worked out for each day.

    Days can be missing; rules ask for a date and get None rather than the previous row.
    `suspects` are values already taken out of the records (cloud/alerts/screening.py).
    """

    def __init__(
        self,
        context: FlockContext,
        records: list[DailyRecord],
        suspects: Mapping[date, tuple[Suspect, ...]] | None = None,
    ) -> None:
        self.context = context
        self.suspects: Mapping[date, tuple[Suspect, ...]] = suspects or {}
        self._by_day: dict[date, DailyRecord] = {}
        for record in records:
            if record.day in self._by_day:
                raise ValueError(f"two records for {record.day}; merge them first")
            self._by_day[record.day] = record
        self.days = sorted(self._by_day)
        self._alive: dict[date, int] = {}
        dead_so_far = 0
        for day in self.days:
            record = self._by_day[day]
            alive = record.birds if record.birds else context.birds_placed - dead_so_far
            self._alive[day] = max(alive, 0)
            dead_so_far += record.deaths

    def __iter__(self) -> Iterator[DailyRecord]:
        return (self._by_day[d] for d in self.days)

    def __len__(self) -> int:
        return len(self.days)

    def get(self, day: date) -> DailyRecord | None:
        return self._by_day.get(day)

    def suspect(self, day: date, column: str) -> bool:
        return any(s.column == column for s in self.suspects.get(day, ()))

    def alive(self, day: date) -> int | None:
        """Birds alive at the start of `day` (recorded, else placed minus recorded deaths)."""
        return self._alive.get(day)

    def window(self, end: date, days: int) -> list[DailyRecord]:
        """Records in the `days` days ending with `end` (inclusive), oldest first."""
        start = end - timedelta(days=days - 1)
        return [r for d in _dates(start, end) if (r := self._by_day.get(d)) is not None]


def _dates(start: date, end: date) -> Iterator[date]:
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)


@dataclass(frozen=True)
class EnvSample:
    """An (hourly) environment reading for one house; missing metrics are None."""

    at: datetime
    temperature_c: float | None = None
    humidity_pct: float | None = None
    nh3_ppm: float | None = None
    co2_ppm: float | None = None


@dataclass(frozen=True)
class SensorHealth:
    sensor: str
    state: str  # ok | fault | missing
    house: str | None = None
    faults: tuple[str, ...] = ()


@dataclass(frozen=True)
class CameraHealth:
    camera: str
    state: str  # ok | blind | missing
    house: str | None = None


@dataclass(frozen=True)
class GatewaySnapshot:
    """What the cloud knows about one gateway at event time `at`."""

    gateway: str
    farm: str
    at: datetime
    last_seen: datetime | None
    last_will: bool = False  # the broker published the gateway's last-will "offline"
    heartbeat_s: float = 60.0
    sensors: tuple[SensorHealth, ...] = ()
    cameras: tuple[CameraHealth, ...] = ()
    outbox_depths: tuple[tuple[datetime, int], ...] = ()  # recent (ts, depth), oldest first
    clock_offset_s: float | None = None


@dataclass(frozen=True)
class MortalityEvent:
    """A farm-level mortality alert, as input to the regional rule."""

    farm: str
    township: str
    at: datetime
    type: str = MORTALITY


@dataclass(frozen=True)
class DeadBirdSighting:
    """One death the detector confirmed (a `mortality_records` row with source `detector`)."""

    record_id: int
    farm: str
    house: str
    at: datetime  # event time the stillness span was complete
    evidence: Mapping[str, Any] = field(default_factory=dict)
    doubted: bool = False  # its camera's reports keep being rejected (cloud/camera_trust.py)


@dataclass(frozen=True)
class GasDay:
    """One day of a house's ammonia against its CO2 (both diluted by the same ventilation)."""

    day: date
    nh3_ppm: float  # mean of the hourly means
    co2_excess_ppm: float  # median hourly CO2 above outside air
    nh3_per_co2: float | None  # median hourly ppm NH3 per 1000 ppm CO2 excess; None: no birds
