"""The scale's side of the agent: raw stream → accepted weights to upload → daily summaries."""

from __future__ import annotations

from datetime import date

import numpy as np
import numpy.typing as npt

from edge.config import GatewayConfig, ScaleSettings
from edge.daybook import DayBook
from edge.weighing import (
    PROFILES,
    AcceptanceWindow,
    Calibration,
    ExpectedCurve,
    Weigher,
    WindowParams,
    daily_summaries,
    local_date,
)
from protocol import WeighingSummary, Weight

MS_PER_DAY = 86_400_000
MS_PER_H = 3_600_000


class ScaleChannel:
    def __init__(self, daybook: DayBook) -> None:
        self.daybook = daybook
        self.weigher: Weigher | None = None
        self.settings: ScaleSettings | None = None
        self.pending: list[Weight] = []
        self._utc_offset_h = 8.0
        self._summary_hour = 0.5

    def configure(self, config: GatewayConfig) -> None:
        """(Re)build the weigher; a calibration-preserving change keeps the learnt window and tare."""
        self.settings = config.scale
        self._utc_offset_h = config.utc_offset_h
        self._summary_hour = config.summary_hour
        if config.scale is None or config.flock is None:
            self.weigher = None
            return
        window = WindowParams(low=config.scale.window_low, high=config.scale.window_high)
        placed = int(np.datetime64(config.flock.placed_on, "ms").astype(np.int64))
        placed -= int(config.utc_offset_h * MS_PER_H)  # local midnight of the placement day
        curve = ExpectedCurve(config.flock.breed, placed, config.flock.age_at_placement_days)
        calib = Calibration(config.scale.zero_offset, config.scale.counts_per_gram)
        profile = PROFILES[config.scale.kind]
        w = self.weigher
        if w is None or w.calibration != calib or w.stability != profile:
            self.weigher = Weigher(calib, AcceptanceWindow(curve, window), profile)
        else:
            w.window.curve = curve
            w.window.params = window

    def feed(self, ts: npt.NDArray[np.int64], raw: npt.NDArray[np.int64]) -> int:
        """Weigh a chunk of the stream; returns how many birds were accepted."""
        if self.weigher is None or self.settings is None or len(ts) == 0:
            return 0
        kept: list[tuple[date, int, float]] = []
        for r in self.weigher.feed(ts, raw):
            if not r.accepted or r.net_g is None:
                continue
            kept.append((local_date(r.ts_ms, self._utc_offset_h), r.ts_ms, r.net_g))
            if self.settings.upload_weights and 0 < r.net_g < 20_000:
                self.pending.append(Weight(ts=r.ts_ms, g=round(r.net_g, 1), dwell_s=round(min(r.dwell_s, 3599), 1)))
        self.daybook.add_many(kept)
        return len(kept)

    def take_weights(self) -> list[Weight]:
        weights, self.pending = self.pending, []
        return weights

    def due_summaries(self, now_ms: int) -> tuple[list[WeighingSummary], list[date]]:
        """Summaries of finished days, once past summary_hour local time; then `forget` them."""
        if self.weigher is None or self.settings is None:
            return [], []
        local_now = now_ms + int(self._utc_offset_h * MS_PER_H)
        if (local_now % MS_PER_DAY) < self._summary_hour * MS_PER_H:
            return [], []
        days = self.daybook.days_before(local_date(now_ms, self._utc_offset_h))
        if not days:
            return [], []
        weights = self.daybook.weights(days)
        summaries = daily_summaries(weights, self._utc_offset_h, self.weigher.window.curve.at, self.settings.house)
        return summaries, days

    def forget(self, days: list[date]) -> None:
        self.daybook.forget(days)
