"""No-report zones: parts of a camera's view that are not floor (migration 0019).

A camera's burned-in name and clock, a feeder or a bright window can look like a bird to the
detector, and a quiet spot (a rejected report) keeps only that one box quiet for 30 days. A zone
is the lasting answer: every detection lying mostly inside one is dropped before it is stored,
counted or tracked, so it is never reported. Callers of `add` and `remove` check scope and role.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import psycopg
from psycopg.rows import dict_row

from cloud.detect.postprocess import Detections

INSIDE_SHARE = 0.5  # a detection with at least this share of its area inside a zone is dropped
SPOT_MARGIN = 0.5  # a zone made from a rejected report's box grows by this share of its size per side


def inside_share(boxes: np.ndarray, zones: np.ndarray) -> np.ndarray:
    """For each box (n, 4), the largest share of its area inside any one zone (m, 4)."""
    if not len(boxes) or not len(zones):
        return np.zeros(len(boxes))
    w = np.minimum(boxes[:, None, 2], zones[None, :, 2]) - np.maximum(boxes[:, None, 0], zones[None, :, 0])
    h = np.minimum(boxes[:, None, 3], zones[None, :, 3]) - np.maximum(boxes[:, None, 1], zones[None, :, 1])
    inter = np.clip(w, 0, None) * np.clip(h, 0, None)
    area = np.maximum((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]), 1e-9)
    return np.asarray((inter / area[:, None]).max(axis=1))


def outside(det: Detections, zones: np.ndarray) -> Detections:
    """The detections not lying mostly inside a zone."""
    if not len(det) or not len(zones):
        return det
    return det.select(inside_share(det.boxes, zones) < INSIDE_SHARE)


def grown(box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """A rejected report's box grown by `SPOT_MARGIN` per side: the next false box on the same
    feeder or OSD text rarely lands on exactly the same pixels."""
    x0, y0, x1, y1 = box
    dx, dy = (x1 - x0) * SPOT_MARGIN, (y1 - y0) * SPOT_MARGIN
    return max(0.0, x0 - dx), max(0.0, y0 - dy), x1 + dx, y1 + dy


def camera_zones(conn: psycopg.Connection, gateway_id: str, camera_id: str) -> np.ndarray:
    """The camera's zones as an (m, 4) array of frame pixels (what the detection worker reads)."""
    rows = conn.execute("SELECT x1, y1, x2, y2 FROM camera_ignore_zones WHERE gateway_id = %s AND camera_id = %s",
                        (gateway_id, camera_id)).fetchall()
    return np.array(rows, np.float64).reshape(-1, 4)


def listed(conn: psycopg.Connection, gateway_id: str, camera_id: str) -> list[dict[str, Any]]:
    """The camera's zones, newest first, each with the rejected report it was made from, if any."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute("SELECT id AS zone_id, ARRAY[x1, y1, x2, y2] AS box, from_record, created_at "
                    "FROM camera_ignore_zones WHERE gateway_id = %s AND camera_id = %s "
                    "ORDER BY created_at DESC, id DESC", (gateway_id, camera_id))
        return [{**r, "box": [float(v) for v in r["box"]]} for r in cur.fetchall()]


def add(conn: psycopg.Connection, gateway_id: str, camera_id: str, box: tuple[float, float, float, float],
        user_id: int | None, from_record: int | None = None) -> int:
    """Store a zone; returns its id. The box must be valid (x0 < x1, y0 < y1, none negative)."""
    row = conn.execute("INSERT INTO camera_ignore_zones (gateway_id, camera_id, x1, y1, x2, y2, from_record, "
                       "created_by) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
                       (gateway_id, camera_id, *box, from_record, user_id)).fetchone()
    assert row is not None  # INSERT ... RETURNING always returns the row
    return int(row[0])


def remove(conn: psycopg.Connection, gateway_id: str, camera_id: str, zone_id: int) -> bool:
    """Delete one of the camera's zones; False when it names none of them."""
    return conn.execute("DELETE FROM camera_ignore_zones WHERE id = %s AND gateway_id = %s AND camera_id = %s "
                        "RETURNING id", (zone_id, gateway_id, camera_id)).fetchone() is not None
