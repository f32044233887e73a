"""Detector health per camera: is the detector reading this camera, or failing silently?

Two signs, judged in event time over the camera's lit frames (dark frames are not judged):

- **Far fewer birds than the house holds in view.** Expected in view = the live flock's
  `birds_now` (else `birds_placed`) x the camera's share of the house: `cameras.view_share` when
  a technician set it, else 1 / (cameras in that house), i.e. the cameras are assumed to split
  the floor evenly. This is a rough estimate (birds crowd at feeders, a camera may see a corner
  or the whole house), so the flag needs a wide margin: the median count of `chicken` boxes per
  frame over the last day under `few_birds_share` (25 %) of the expected, with at least
  `min_expected` (10) birds expected in view.
- **Scores or counts collapse against the camera's own history.** Over the last day against
  the week before it: the mean `chicken` score under `score_drop` (60 %) of the history's, or
  the median count under `count_drop` (30 %) of the history's median (when that was >= 5).

And one sign about its dead birds: **its dead-bird reports keep being rejected**, by the rule of
`cloud/camera_trust.py` judged at its latest frame (then its reports no longer text anyone at
once). Each rejected spot stays quiet (the worker's `rejected_window_s`), so repeated rejections
are different false carcasses: litter under a dirty dome, birds cut by the frame, equipment.

A flagged camera is one the detector cannot read yet: the console asks for labelled frames.
Apart from the verdict, each camera carries `text_unzoned`: how many boxes of burned-in text
found on its frames (`cloud.labels.text_zones`, as kept) no no-report zone covers yet.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row

from cloud import camera_trust
from cloud.camera_trust import UNDECIDED, Decided
from cloud.labels import text_zones


@dataclass(frozen=True)
class HealthRules:
    recent: timedelta = timedelta(hours=24)
    history: timedelta = timedelta(days=7)
    min_frames: int = 5  # lit frames in the recent window before judging at all
    min_history_frames: int = 20
    min_expected: float = 10.0
    few_birds_share: float = 0.25
    score_drop: float = 0.6
    count_drop: float = 0.3
    min_history_count: float = 5.0
    max_frames: int = 300  # per window, newest first: enough for a median, cheap to read


@dataclass(frozen=True)
class FrameCount:
    count: int  # chicken boxes
    score_sum: float  # of those boxes


@dataclass(frozen=True)
class Window:
    frames: int
    median_count: float
    mean_score: float | None  # over every chicken box of the window; None when there were none

    @classmethod
    def of(cls, counts: Sequence[FrameCount]) -> Window:
        boxes = sum(c.count for c in counts)
        return cls(len(counts), float(statistics.median(c.count for c in counts)) if counts else 0.0,
                   (sum(c.score_sum for c in counts) / boxes) if boxes else None)

    def as_dict(self) -> dict[str, Any]:
        return {"frames": self.frames, "median_count": self.median_count,
                "mean_score": None if self.mean_score is None else round(self.mean_score, 3)}


@dataclass(frozen=True)
class Verdict:
    reasons: list[str] = field(default_factory=list)  # few_birds, scores/counts_collapsed, dead_rejected
    judged: bool = True  # False: too few lit frames to say

    @property
    def flagged(self) -> bool:
        return bool(self.reasons)


def expected_in_view(birds: int | None, share: float | None, cameras_in_house: int) -> float | None:
    if birds is None:
        return None
    return birds * (share if share is not None else 1.0 / max(1, cameras_in_house))


def judge(recent: Window, history: Window, expected: float | None, rules: HealthRules = HealthRules(),
          decided: Decided = UNDECIDED) -> Verdict:
    if recent.frames < rules.min_frames:
        return Verdict(judged=False)
    reasons = []
    if expected is not None and expected >= rules.min_expected and recent.median_count < rules.few_birds_share * expected:
        reasons.append("few_birds")
    if history.frames >= rules.min_history_frames:
        if history.mean_score is not None and (recent.mean_score or 0.0) < rules.score_drop * history.mean_score:
            reasons.append("scores_collapsed")
        if (history.median_count >= rules.min_history_count
                and recent.median_count < rules.count_drop * history.median_count):
            reasons.append("counts_collapsed")
    if camera_trust.doubted(decided):
        reasons.append("dead_rejected")
    return Verdict(reasons)


CAMERAS = """
SELECT c.gateway_id, c.id AS camera_id, c.house_id, c.view_share, g.farm_id,
       (SELECT count(*) FROM cameras c2 WHERE c2.house_id = c.house_id) AS cameras_in_house,
       (SELECT coalesce(fl.birds_now, fl.birds_placed) FROM flocks fl WHERE fl.house_id = c.house_id
         AND fl.ended_on IS NULL ORDER BY fl.placed_on DESC LIMIT 1) AS birds,
       last.ts AS last_judged, last.model,
       (SELECT count(*) FROM label_frames lf WHERE lf.gateway_id = c.gateway_id AND lf.camera_id = c.id) AS labelled
FROM cameras c JOIN gateways g ON g.id = c.gateway_id
LEFT JOIN LATERAL (SELECT df.ts, df.model FROM detection_frames df WHERE df.gateway_id = c.gateway_id
                   AND df.camera_id = c.id ORDER BY df.ts DESC LIMIT 1) last ON true
WHERE (%(farms)s::text[] IS NULL OR g.farm_id = ANY(%(farms)s::text[]))
  AND (%(farm)s::text IS NULL OR g.farm_id = %(farm)s)
ORDER BY g.farm_id, c.gateway_id, c.id
"""

# Newest lit frames of the window first; a frame judged before migration 0014 has no per-frame
# summary, and its chicken rows in `detections` are counted instead.
WINDOW = """
SELECT coalesce(df.chickens, d.n, 0), coalesce(df.chicken_score, d.s, 0)
FROM (SELECT ts, frame_seq, chickens, chicken_score FROM detection_frames
      WHERE gateway_id = %(gw)s AND camera_id = %(cam)s AND lit AND ts > %(start)s AND ts <= %(end)s
      ORDER BY ts DESC LIMIT %(limit)s) df
LEFT JOIN LATERAL (
    SELECT count(*) AS n, sum(score) AS s FROM detections d
    WHERE df.chickens IS NULL AND d.gateway_id = %(gw)s AND d.camera_id = %(cam)s AND d.ts = df.ts
      AND d.frame_seq = df.frame_seq AND d.class = 'chicken') d ON true
"""


def _window(conn: psycopg.Connection, gateway_id: str, camera_id: str, start: datetime, end: datetime,
            rules: HealthRules) -> Window:
    found = conn.execute(WINDOW, {"gw": gateway_id, "cam": camera_id, "start": start, "end": end,
                                  "limit": rules.max_frames}).fetchall()
    return Window.of([FrameCount(int(n), float(s)) for n, s in found])


def camera_health(conn: psycopg.Connection, farms: list[str] | None, farm: str | None = None,
                  rules: HealthRules = HealthRules()) -> list[dict[str, Any]]:
    """Every camera of the farms (None: all) with its windows, expected birds in view and verdict."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(CAMERAS, {"farms": farms, "farm": farm})
        cameras = cur.fetchall()
    out = []
    text = text_zones.unzoned_counts(conn, [(c["gateway_id"], c["camera_id"]) for c in cameras])
    for c in cameras:
        item: dict[str, Any] = {**{k: v for k, v in c.items() if k != "model"},
                                "view_share": None if c["view_share"] is None else float(c["view_share"]),
                                "expected_in_view": None, "recent": None, "history": None, "reasons": [],
                                "judged": False, "model": None,
                                "text_unzoned": text.get((c["gateway_id"], c["camera_id"]), 0)}
        end = c["last_judged"]
        if end is not None:
            recent = _window(conn, c["gateway_id"], c["camera_id"], end - rules.recent, end, rules)
            history = _window(conn, c["gateway_id"], c["camera_id"], end - rules.recent - rules.history,
                              end - rules.recent, rules)
            expected = expected_in_view(c["birds"], item["view_share"], int(c["cameras_in_house"] or 0))
            camera = (c["gateway_id"], c["camera_id"])
            verdict = judge(recent, history, expected, rules,
                            camera_trust.decided(conn, end, [camera]).get(camera, UNDECIDED))
            item.update(expected_in_view=None if expected is None else round(expected, 1),
                        recent=recent.as_dict(), history=history.as_dict(), reasons=verdict.reasons,
                        judged=verdict.judged, model=c["model"])
        out.append(item)
    return out
