"""Who hears about what: recipients by audience, scoped to farms or townships."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from cloud.alerts.policy import Audience


@dataclass(frozen=True)
class Recipient:
    id: str
    phone: str  # E.164, e.g. +8613800000000
    audience: Audience
    lang: str = "zh-CN"
    farms: frozenset[str] = field(default_factory=frozenset)
    townships: frozenset[str] = field(default_factory=frozenset)
    utc_offset_h: float = 8.0  # quiet hours are local; China is UTC+8 all year


class Directory(Protocol):
    def recipients(
        self, audience: Audience, farm: str | None, region: str | None
    ) -> list[Recipient]: ...


class MemoryDirectory:
    def __init__(self, recipients: Iterable[Recipient], farm_townships: Mapping[str, str]) -> None:
        self._recipients = list(recipients)
        self._township = dict(farm_townships)

    def recipients(
        self, audience: Audience, farm: str | None, region: str | None
    ) -> list[Recipient]:
        township = region if region is not None else self._township.get(farm or "")
        return [
            r
            for r in self._recipients
            if r.audience is audience
            and (
                (farm is not None and farm in r.farms)
                or (township is not None and township in r.townships)
            )
        ]

    def by_phone(self, phone: str) -> Recipient | None:
        return next((r for r in self._recipients if r.phone == phone), None)
