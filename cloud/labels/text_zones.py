"""Burned-in text per camera: found on its stored frames, kept, and checked against its zones.

`cloud.detect.osd` finds the NVR's clock and camera name on up to TEXT_POOL of a camera's frames
(24 frame reads and ~0.7 s), so it runs once a day per camera (`fuhuiyang cloud find-text`, or a
camera's labelling page finding the kept result stale) and the result is kept (migration 0020).
Text that no no-report zone covers yet is what the console flags, before the detector has sent
anyone a false dead-bird report about it, and what the labelling page offers as zones.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

import cv2
import numpy as np
import psycopg
from psycopg.types.json import Jsonb

from cloud.detect import osd, zones
from cloud.frames_store import decode
from cloud.labels import store

log = logging.getLogger(__name__)

TEXT_POOL = 24  # frames read, over the camera's stored days: the clock changes, the text stays
FRESH = timedelta(days=1)  # a camera's NVR settings rarely change; its frames' text is looked for daily

Box = list[float]
Camera = tuple[str, str]


def find(conn: psycopg.Connection, read: Callable[[str], bytes], gateway_id: str, camera_id: str,
         now: datetime) -> list[Box]:
    """Look for text on the camera's frames now, keep what was found, and return it. Unreadable
    frames are skipped; with too few frames nothing is found (and that is kept too)."""
    candidates, labelled = store.spread_pool(conn, gateway_id, camera_id, TEXT_POOL)
    greys = []  # newest first: frames of the newest one's size are searched, where zones are drawn
    for row in [*reversed(candidates), *labelled][:TEXT_POOL]:
        try:
            grey = decode(read(row["path"]), cv2.IMREAD_GRAYSCALE)  # full size: strokes are a pixel or two
        except (OSError, ValueError):
            grey = None
        if grey is not None:
            greys.append(grey)
    boxes = [[round(float(v), 1) for v in box] for box in osd.text_zones(greys)]
    conn.execute("INSERT INTO camera_text_zones (gateway_id, camera_id, boxes, frames, found_at) "
                 "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (gateway_id, camera_id) DO UPDATE "
                 "SET boxes = EXCLUDED.boxes, frames = EXCLUDED.frames, found_at = EXCLUDED.found_at",
                 (gateway_id, camera_id, Jsonb(boxes), len(greys), now))
    return boxes


def current(conn: psycopg.Connection, read: Callable[[str], bytes], gateway_id: str, camera_id: str,
            now: datetime) -> list[Box]:
    """The camera's text boxes as kept, when found within FRESH; else found again."""
    row = conn.execute("SELECT boxes, found_at FROM camera_text_zones WHERE gateway_id = %s AND camera_id = %s",
                       (gateway_id, camera_id)).fetchone()
    if row is not None and now - row[1] < FRESH:
        return [list(map(float, box)) for box in row[0]]
    return find(conn, read, gateway_id, camera_id, now)


def unzoned(conn: psycopg.Connection, gateway_id: str, camera_id: str, boxes: Iterable[Box]) -> list[Box]:
    """Those of `boxes` that no no-report zone of the camera covers yet (mostly inside one)."""
    found = np.array(list(boxes), np.float64).reshape(-1, 4)
    covered = zones.inside_share(found, zones.camera_zones(conn, gateway_id, camera_id))
    return [[float(v) for v in box] for box in found[covered < zones.INSIDE_SHARE]]


def unzoned_counts(conn: psycopg.Connection, cameras: Iterable[Camera]) -> dict[Camera, int]:
    """Per camera, how many of its kept text boxes no zone covers: read from what was kept, never
    from frames, so the console can ask it of every camera in an area."""
    wanted = list(cameras)
    if not wanted:
        return {}
    rows = conn.execute("SELECT t.gateway_id, t.camera_id, t.boxes FROM camera_text_zones t "
                        "JOIN unnest(%s::text[], %s::text[]) AS w(gw, cam) ON w.gw = t.gateway_id "
                        "AND w.cam = t.camera_id WHERE jsonb_array_length(t.boxes) > 0",
                        ([gw for gw, _ in wanted], [cam for _, cam in wanted])).fetchall()
    return {(gw, cam): len(unzoned(conn, gw, cam, boxes)) for gw, cam, boxes in rows}


@dataclass(frozen=True)
class SweepReport:
    cameras: int  # with stored frames
    searched: int  # of those, whose kept result was missing or stale
    with_text: int  # of those searched, where text was found
    unzoned: int  # text boxes found that no zone covers yet
    failed: int  # cameras whose search failed (logged; the others still searched)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


STALE = """
SELECT c.gateway_id, c.id FROM cameras c LEFT JOIN camera_text_zones t
  ON t.gateway_id = c.gateway_id AND t.camera_id = c.id
WHERE (t.found_at IS NULL OR t.found_at <= %(before)s)
  AND EXISTS (SELECT 1 FROM frames fr WHERE fr.gateway_id = c.gateway_id AND fr.camera_id = c.id)
ORDER BY t.found_at NULLS FIRST, c.gateway_id, c.id
"""


def sweep(conn: psycopg.Connection, read: Callable[[str], bytes], now: datetime,
          max_age: timedelta = FRESH) -> SweepReport:
    """Find text on every camera with stored frames whose kept result is missing or older than
    `max_age`, each committed on its own (`conn` in autocommit). Unreadable frames are skipped
    (`find`); a camera whose search fails is logged and counted, and the others are still searched."""
    cameras = conn.execute("SELECT count(*) FROM cameras c WHERE EXISTS (SELECT 1 FROM frames fr "
                           "WHERE fr.gateway_id = c.gateway_id AND fr.camera_id = c.id)").fetchone()
    stale = conn.execute(STALE, {"before": now - max_age}).fetchall()
    with_text = unzoned_boxes = failed = 0
    for gateway_id, camera_id in stale:
        try:
            boxes = find(conn, read, gateway_id, camera_id, now)
        except (OSError, psycopg.Error) as exc:
            failed += 1
            log.error("text on camera %s/%s not looked for: %s", gateway_id, camera_id, exc)
            continue
        with_text += bool(boxes)
        unzoned_boxes += len(unzoned(conn, gateway_id, camera_id, boxes))
    return SweepReport(int(cameras[0]) if cameras else 0, len(stale), with_text, unzoned_boxes, failed)
