"""The farmers' side of the demo: each evening they enter the day's deaths in the web app.

Mortality rules (and so suspected-disease and regional alerts) judge farmer-entered daily
records; the simulated farmers write theirs through the real API, with their own logins.
"""

from __future__ import annotations

import json
import logging
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta

from firmware_sim.world import HouseDay, World

log = logging.getLogger(__name__)

UTC_OFFSET = timedelta(hours=8)


class FarmerBook:
    def __init__(self, api_url: str, world: World, usernames: dict[str, str], password: str) -> None:
        self.api_url = api_url.rstrip("/")
        self.world = world
        self.usernames = usernames  # farm id -> the farmer's login
        self.password = password
        self._tokens: dict[str, str] = {}
        self._seen: dict[tuple[str, str], HouseDay] = {}
        self.entered = 0
        self.failed = 0

    def observe(self) -> None:
        """After a step: for every house whose day rolled over, enter the finished day."""
        for farm in self.world.farms:
            for house in farm.houses:
                key = (farm.farm.id, house.model.id)
                today, before = house.today, self._seen.get(key)
                if today is None:
                    continue
                if before is not None and before is not today and house.model.flock is not None:
                    self._enter(farm.farm.id, house.model.flock.id, before)
                self._seen[key] = today

    def _enter(self, farm_id: str, flock_id: str, day: HouseDay) -> None:
        local_day = (datetime.fromtimestamp(day.start_ms / 1000, tz=UTC) + UTC_OFFSET).date()
        body = json.dumps({"deaths": int(day.deaths)}).encode()
        url = f"{self.api_url}/api/v1/flocks/{urllib.parse.quote(flock_id)}/daily-records/{local_day}"
        request = urllib.request.Request(url, data=body, method="PUT", headers={
            "Content-Type": "application/json", "Authorization": f"Bearer {self._token(farm_id)}"})
        try:
            with urllib.request.urlopen(request, timeout=10):
                self.entered += 1
        except OSError as exc:
            self.failed += 1
            log.warning("farmer of %s could not enter %s: %s", farm_id, local_day, exc)

    def _token(self, farm_id: str) -> str:
        if farm_id not in self._tokens:
            form = urllib.parse.urlencode({"username": self.usernames[farm_id], "password": self.password})
            request = urllib.request.Request(f"{self.api_url}/api/v1/auth/token", data=form.encode(),
                                             headers={"Content-Type": "application/x-www-form-urlencoded"})
            with urllib.request.urlopen(request, timeout=10) as answer:
                self._tokens[farm_id] = json.loads(answer.read())["access_token"]
        return self._tokens[farm_id]
