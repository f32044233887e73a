"""Request and response bodies of the API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field, model_validator

from cloud.api.scope import Role

Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]

IntId = Annotated[int, Path(ge=1, le=2**62)]


def contains_nul(value: Any) -> bool:
    """A NUL anywhere in a string, key or nested value: PostgreSQL text and jsonb refuse it."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(contains_nul(k) or contains_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(contains_nul(v) for v in value)
    return False


class _In(BaseModel):
    """Request bodies: unknown fields, NUL characters and nulls where null means nothing are refused.

    An explicit `null` counts as "not given", except for the fields in `clearable`, where it
    clears a nullable column on PATCH. A required field sent as null is then simply missing (422).
    """

    model_config = ConfigDict(extra="forbid")
    clearable: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _no_nul_no_null(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        if contains_nul(data):
            raise ValueError("text must not contain NUL characters")
        return {k: v for k, v in data.items() if v is not None or k in cls.clearable}


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"


class UserOut(BaseModel):
    id: int
    username: str
    role: Role
    display_name: str | None
    phone: str | None
    locale: str
    active: bool
    farms: list[str] = []
    regions: list[str] = []


class UserIn(_In):
    username: Annotated[str, Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")]
    password: Annotated[str, Field(min_length=8, max_length=256)]
    role: Role
    display_name: Annotated[str, Field(max_length=120)] | None = None
    phone: Annotated[str, Field(max_length=32, pattern=r"^\+?[0-9 -]{3,31}$")] | None = None
    locale: Literal["zh-CN", "en"] = "zh-CN"
    farms: Annotated[list[Id], Field(max_length=1000)] = []
    regions: Annotated[list[Id], Field(max_length=1000)] = []


class UserPatch(_In):
    clearable = frozenset({"display_name", "phone"})

    display_name: Annotated[str, Field(max_length=120)] | None = None
    phone: Annotated[str, Field(max_length=32, pattern=r"^\+?[0-9 -]{3,31}$")] | None = None
    locale: Literal["zh-CN", "en"] | None = None
    active: bool | None = None
    password: Annotated[str, Field(min_length=8, max_length=256)] | None = None
    current_password: Annotated[str, Field(max_length=256)] | None = Field(
        None, description="Required to change one's own password")


class PasswordChange(_In):
    current_password: Annotated[str, Field(max_length=256)]
    new_password: Annotated[str, Field(min_length=8, max_length=256)]


class PhoneChange(_In):
    phone: Annotated[str, Field(max_length=32, pattern=r"^\+?[0-9 -]{3,31}$")]


class SmsCodeRequest(_In):
    phone: Annotated[str, Field(max_length=32, pattern=r"^\+?[0-9 -]{6,31}$")]


class SmsSignIn(_In):
    phone: Annotated[str, Field(max_length=32, pattern=r"^\+?[0-9 -]{6,31}$")]
    code: Annotated[str, Field(pattern=r"^[0-9]{6}$")]


class PhoneCode(_In):
    code: Annotated[str, Field(pattern=r"^[0-9]{6}$")]


class SessionsRevoked(BaseModel):
    revoked: int


class PhoneChallengeOut(BaseModel):
    phone: str
    expires_at: datetime
    attempts_left: int


class RegionOut(BaseModel):
    id: str
    parent_id: str | None
    level: str
    name: str
    name_en: str | None


class RegionIn(_In):
    id: Id
    parent_id: Id | None = None
    level: Literal["province", "city", "county", "township", "village"]
    name: Annotated[str, Field(min_length=1, max_length=120)]
    name_en: Annotated[str, Field(max_length=120)] | None = None


class FarmOut(BaseModel):
    id: str
    name: str
    region_id: str
    owner_user_id: int | None
    kind: str
    lat: float | None
    lon: float | None


class FarmIn(_In):
    id: Id
    name: Annotated[str, Field(min_length=1, max_length=120)]
    region_id: Id
    owner_user_id: int | None = None
    kind: Literal["backyard", "smallhouse", "commercial"] = "smallhouse"
    lat: Annotated[float, Field(ge=-90, le=90)] | None = None
    lon: Annotated[float, Field(ge=-180, le=180)] | None = None


class FarmPatch(_In):
    clearable = frozenset({"lat", "lon"})

    name: Annotated[str, Field(min_length=1, max_length=120)] | None = None
    kind: Literal["backyard", "smallhouse", "commercial"] | None = None
    lat: Annotated[float, Field(ge=-90, le=90)] | None = None
    lon: Annotated[float, Field(ge=-180, le=180)] | None = None


class HouseOut(BaseModel):
    id: str
    farm_id: str
    name: str
    capacity: int | None


class HouseIn(_In):
    id: Id
    name: Annotated[str, Field(min_length=1, max_length=120)]
    capacity: Annotated[int, Field(gt=0, le=10_000_000)] | None = None


class FlockOut(BaseModel):
    id: str
    house_id: str
    farm_id: str
    breed: str
    placed_on: date
    birds_placed: int
    birds_now: int | None
    ended_on: date | None


class FlockIn(_In):
    id: Id
    breed: Annotated[str, Field(min_length=1, max_length=40)]
    placed_on: date
    birds_placed: Annotated[int, Field(gt=0, le=10_000_000)]


class FlockPatch(_In):
    """Birds alive is derived from the placement and the daily records, so it is not patched."""

    clearable = frozenset({"ended_on"})

    birds_placed: Annotated[int, Field(ge=1, le=10_000_000)] | None = None
    ended_on: date | None = None


class SensorOut(BaseModel):
    gateway_id: str
    id: str
    house_id: str | None
    metric: str | None
    state: str
    faults: list[str]
    updated_at: datetime | None


class CameraOut(BaseModel):
    gateway_id: str
    id: str
    house_id: str | None
    state: str
    updated_at: datetime | None


class GatewayOut(BaseModel):
    id: str
    farm_id: str
    software: str | None
    status: str
    last_seen: datetime | None
    revoked: bool
    desired_version: int
    applied_version: int | None
    applied_status: str | None
    applied_error: str | None
    outbox_depth: int | None = None
    outbox_oldest_age_s: float | None = None
    health_at: datetime | None = None
    sensor_faults: int = 0
    cameras_not_ok: int = 0


class GatewayRegister(_In):
    gateway_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")] | None = None


class CredentialsOut(BaseModel):
    gateway_id: str
    farm_id: str
    password: str = Field(description="Shown once; only its hash is kept")
    password_env: str
    gateway_yaml: str
    broker_host: str
    broker_port: int
    broker_tls: bool


class ConfigVersionOut(BaseModel):
    version: int
    config: dict[str, Any]
    created_by: int | None
    created_at: datetime


class ConfigIn(_In):
    config: dict[str, Any]
    expected_version: Annotated[int, Field(ge=0)] | None = Field(
        None, description="Refuse the push if the desired version moved on (someone else pushed)")


class ConfigCheck(BaseModel):
    valid: bool
    problems: list[str]
    diff: list[dict[str, Any]]
    base_version: int


class ConfigPushed(BaseModel):
    version: int
    diff: list[dict[str, Any]]
    published: bool
    publish_error: str | None = None


class SeriesPointOut(BaseModel):
    bucket: datetime
    avg: float
    min: float
    max: float
    n: int


class WeightDayOut(BaseModel):
    day: date
    source: Literal["gateway_summary", "weighings"]
    n: int
    mean_g: float
    cv_pct: float | None
    uniformity_pct: float | None
    expected_g: float | None


class DailyRecordIn(_In):
    deaths: Annotated[int, Field(ge=0, le=1_000_000)] | None = None
    culls: Annotated[int, Field(ge=0, le=1_000_000)] | None = None
    feed_kg: Annotated[float, Field(ge=0, le=1_000_000)] | None = None
    water_l: Annotated[float, Field(ge=0, le=10_000_000)] | None = None
    eggs: Annotated[int, Field(ge=0, le=10_000_000)] | None = None


class DailyRecordOut(BaseModel):
    flock_id: str
    day: date
    deaths: int | None
    culls: int | None
    feed_kg: float | None
    water_l: float | None
    eggs: int | None
    # What a farm's imported book adds (issue 24); None on days entered in the app.
    birds: int | None = None
    mean_weight_g: float | None = None
    uniformity_pct: float | None = None
    source: Literal["app", "import"] = "app"
    entered_by: int | None
    entered_at: datetime


class AlertOut(BaseModel):
    id: int
    type: str
    severity: str
    state: str
    farm_id: str | None
    house_id: str | None
    gateway_id: str | None
    event_start: datetime
    event_end: datetime | None
    raised_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: int | None
    title: str | None
    advice: str | None
    # The alert's book: `first` and `last` findings (rule, value, threshold, evidence), counts,
    # audit. A `dead_bird` finding's evidence names the photo's mortality record (`record_id`).
    evidence: dict[str, Any] = Field(default_factory=dict)


class MortalityOut(BaseModel):
    id: int
    flock_id: str | None
    house_id: str
    farm_id: str
    ts: datetime
    count: int
    source: str
    confirmed: bool | None
    frame: str | None = Field(None, description="Evidence frame, path in the frame store")
    crop: str | None = Field(None, description="Crop around the bird, path in the frame store")


class MortalityDecision(_In):
    confirmed: bool


class AuditOut(BaseModel):
    id: int
    at: datetime
    user_id: int | None
    action: str
    entity: str
    entity_id: str | None
    detail: dict[str, Any]
