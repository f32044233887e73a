"""A farm's labelled frames in the database (`label_frames`, migration 0014).

A frame is named by its gateway and sequence number (`frames` is unique on those with its
time); its farm is its gateway's farm. Callers check scope and role (cloud.api.services.labels).
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from cloud.labels.boxes import CLASSES, LabelBox, apply_verdict, from_json, make_box, to_json

log = logging.getLogger(__name__)


def _rows(conn: psycopg.Connection, query: str, params: dict[str, Any] | tuple[Any, ...]) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query, params)
        return cur.fetchall()


FRAME_SELECT = ("fr.gateway_id, fr.camera_id, fr.seq, fr.ts, fr.path, fr.width, fr.height, fr.house_id, "
                "g.farm_id, lf.source AS labelled, lf.labelled_at, "
                "(SELECT df.model FROM detection_frames df WHERE df.gateway_id = fr.gateway_id "
                " AND df.frame_seq = fr.seq AND df.ts = fr.ts LIMIT 1) AS model")
FRAME_FROM = ("frames fr JOIN gateways g ON g.id = fr.gateway_id "
              "LEFT JOIN label_frames lf ON lf.gateway_id = fr.gateway_id AND lf.frame_seq = fr.seq AND lf.ts = fr.ts")
# The signature the detection worker kept for a frame (cloud.frame_look); NULL if judged before.
_SIGNATURE = ("(SELECT df.signature FROM detection_frames df WHERE df.gateway_id = {frame}.gateway_id "
              "AND df.frame_seq = {frame}.{seq} AND df.ts = {frame}.ts LIMIT 1) AS signature")


def camera_frames(conn: psycopg.Connection, gateway_id: str, camera_id: str, limit: int, offset: int,
                  labelled: bool | None = None) -> tuple[list[dict[str, Any]], int]:
    """A camera's stored frames, newest first, each saying whether it is in the set."""
    where = "fr.gateway_id = %(gw)s AND fr.camera_id = %(cam)s"
    if labelled is not None:
        where += " AND (lf.gateway_id IS NOT NULL) = %(labelled)s"
    params = {"gw": gateway_id, "cam": camera_id, "labelled": labelled, "limit": limit, "offset": offset}
    total = conn.execute(f"SELECT count(*) FROM {FRAME_FROM} WHERE {where}", params).fetchone()
    items = _rows(conn, f"SELECT {FRAME_SELECT} FROM {FRAME_FROM} WHERE {where} "
                        "ORDER BY fr.ts DESC, fr.seq DESC LIMIT %(limit)s OFFSET %(offset)s", params)
    return items, int(total[0]) if total else 0


def spread_pool(conn: psycopg.Connection, gateway_id: str, camera_id: str, pool: int
                ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(candidates, labelled) for choosing what to label next (cloud.labels.suggest): at most
    `pool` of the camera's unlabelled frames taken evenly over its whole stored time, not its
    newest hour, and the stored paths of at most `pool` of its labelled frames, newest first."""
    params = {"gw": gateway_id, "cam": camera_id, "pool": pool}
    camera = "fr.gateway_id = %(gw)s AND fr.camera_id = %(cam)s"
    candidates = _rows(conn, "WITH picked AS (SELECT ts, seq FROM (SELECT fr.ts, fr.seq, "
                             "row_number() OVER (ORDER BY fr.ts, fr.seq) AS k, count(*) OVER () AS n "
                             f"FROM {FRAME_FROM} WHERE {camera} AND lf.gateway_id IS NULL) c "
                             "WHERE (k - 1) %% greatest(ceil(n::float / %(pool)s)::int, 1) = 0 LIMIT %(pool)s) "
                             f"SELECT {FRAME_SELECT}, {_SIGNATURE.format(frame='fr', seq='seq')} "
                             f"FROM {FRAME_FROM} JOIN picked p ON p.ts = fr.ts AND p.seq = fr.seq "
                             f"WHERE {camera} ORDER BY fr.ts, fr.seq", params)
    # Of a labelled frame only its look is needed: its kept signature, or its image (the path).
    labelled = _rows(conn, f"SELECT lf.path, {_SIGNATURE.format(frame='lf', seq='frame_seq')} FROM label_frames lf "
                           "WHERE lf.gateway_id = %(gw)s AND lf.camera_id = %(cam)s "
                           "ORDER BY lf.ts DESC LIMIT %(pool)s", params)
    return candidates, labelled


def unlabelled_frames(conn: psycopg.Connection, farm_id: str, gateway_id: str | None, camera_id: str | None,
                      per_camera: int) -> list[dict[str, Any]]:
    """Up to `per_camera` unlabelled frames of each of the farm's cameras (or of the one given),
    taken evenly over each camera's stored time: for a model to pseudo-label while it adapts."""
    cameras = conn.execute("SELECT DISTINCT fr.gateway_id, fr.camera_id FROM frames fr JOIN gateways g "
                           "ON g.id = fr.gateway_id WHERE g.farm_id = %s AND (%s::text IS NULL OR fr.gateway_id = %s) "
                           "AND (%s::text IS NULL OR fr.camera_id = %s) ORDER BY 1, 2",
                           (farm_id, gateway_id, gateway_id, camera_id, camera_id)).fetchall()
    return [row for gw, cam in cameras for row in spread_pool(conn, gw, cam, per_camera)[0]]


def frame(conn: psycopg.Connection, gateway_id: str, seq: int) -> dict[str, Any] | None:
    found = _rows(conn, f"SELECT {FRAME_SELECT} FROM {FRAME_FROM} WHERE fr.gateway_id = %s AND fr.seq = %s "
                        "ORDER BY fr.ts DESC LIMIT 1", (gateway_id, seq))
    return found[0] if found else None


def detector_boxes(conn: psycopg.Connection, gateway_id: str, camera_id: str, seq: int, ts: Any
                   ) -> list[dict[str, Any]]:
    """What the detection worker recorded for the frame (classes of the label set only)."""
    return [
        {"cls": r["class"], "box": [float(r["x1"]), float(r["y1"]), float(r["x2"]), float(r["y2"])],
         "score": round(float(r["score"]), 3)}
        for r in _rows(conn, "SELECT class, score, x1, y1, x2, y2 FROM detections WHERE gateway_id = %s "
                             "AND camera_id = %s AND frame_seq = %s AND ts = %s ORDER BY score DESC",
                       (gateway_id, camera_id, seq, ts))
        if r["class"] in CLASSES
    ]


def saved_boxes(conn: psycopg.Connection, gateway_id: str, seq: int, ts: Any) -> list[LabelBox] | None:
    row = conn.execute("SELECT boxes FROM label_frames WHERE gateway_id = %s AND frame_seq = %s AND ts = %s",
                       (gateway_id, seq, ts)).fetchone()
    return None if row is None else from_json(row[0])


def save(conn: psycopg.Connection, item: dict[str, Any], boxes: list[LabelBox], user_id: int | None,
         source: str = "technician") -> None:
    """Put the frame (a `frame()` row) into its farm's set with these boxes (an empty list is a
    frame with no birds: background, which the set keeps too)."""
    conn.execute(
        "INSERT INTO label_frames (farm_id, gateway_id, camera_id, frame_seq, ts, path, boxes, source, "
        "labelled_by, labelled_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, now()) "
        "ON CONFLICT (gateway_id, frame_seq, ts) DO UPDATE SET boxes = EXCLUDED.boxes, source = EXCLUDED.source, "
        "labelled_by = EXCLUDED.labelled_by, labelled_at = EXCLUDED.labelled_at, farm_id = EXCLUDED.farm_id",
        (item["farm_id"], item["gateway_id"], item["camera_id"], item["seq"], item["ts"], item["path"],
         Jsonb(to_json(boxes)), source, user_id),
    )


def remove(conn: psycopg.Connection, gateway_id: str, seq: int, ts: Any) -> bool:
    gone = conn.execute("DELETE FROM label_frames WHERE gateway_id = %s AND frame_seq = %s AND ts = %s "
                        "RETURNING 1", (gateway_id, seq, ts)).fetchone()
    return gone is not None


def feed_verdict(conn: psycopg.Connection, evidence: dict[str, Any], confirmed: bool, user_id: int | None) -> bool:
    """A decided dead-bird record's frame joins its farm's set: the judged box as `dead` when
    confirmed, as background when rejected (boxes.apply_verdict). A frame not in the set yet
    keeps the detector's boxes for the other birds; a frame a technician labelled keeps theirs.
    Returns False (and logs) when the record does not name a frame the database knows."""
    gateway_id, seq, box = evidence.get("gateway_id"), evidence.get("frame_seq"), evidence.get("box")
    if not isinstance(gateway_id, str) or not isinstance(seq, int) or not isinstance(box, list) or len(box) != 4:
        log.info("dead-bird record without gateway, frame and box: not added to the label set")
        return False
    item = frame(conn, gateway_id, seq)
    if item is None:
        log.warning("dead-bird record names frame %s/%s, which is not stored: not added to the label set",
                    gateway_id, seq)
        return False
    current = saved_boxes(conn, gateway_id, seq, item["ts"])
    row = conn.execute("SELECT source FROM label_frames WHERE gateway_id = %s AND frame_seq = %s AND ts = %s",
                       (gateway_id, seq, item["ts"])).fetchone()
    source = "alert" if row is None else str(row[0])
    if current is None:
        current = [make_box(d["cls"], d["box"])
                   for d in detector_boxes(conn, gateway_id, item["camera_id"], seq, item["ts"])]
    save(conn, item, apply_verdict(current, [float(v) for v in box], confirmed), user_id, source)
    return True


def camera_counts(conn: psycopg.Connection, gateway_id: str, camera_id: str) -> tuple[int, int]:
    """A camera's labelled frames and the birds (live and dead) labelled on them."""
    row = conn.execute("SELECT count(*), coalesce(sum(jsonb_array_length(boxes)), 0) FROM label_frames "
                       "WHERE gateway_id = %s AND camera_id = %s", (gateway_id, camera_id)).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def label_set(conn: psycopg.Connection, farm_id: str, gateway_id: str | None = None,
              camera_id: str | None = None) -> list[dict[str, Any]]:
    """The farm's labelled frames (optionally one camera's), oldest first."""
    found = _rows(conn, "SELECT gateway_id, camera_id, frame_seq, ts, path, boxes, source FROM label_frames "
                        "WHERE farm_id = %s AND (%s::text IS NULL OR gateway_id = %s) "
                        "AND (%s::text IS NULL OR camera_id = %s) ORDER BY ts, gateway_id, frame_seq",
                  (farm_id, gateway_id, gateway_id, camera_id, camera_id))
    for r in found:
        r["boxes"] = from_json(r["boxes"])
    return found


def set_summary(conn: psycopg.Connection, farm_id: str) -> list[dict[str, Any]]:
    """Per camera: frames in the set, how many a technician reviewed, boxes per class."""
    return _rows(conn, "SELECT gateway_id, camera_id, count(*) AS frames, "
                       "count(*) FILTER (WHERE source = 'technician') AS reviewed, "
                       "coalesce(sum((SELECT count(*) FROM jsonb_array_elements(boxes) b "
                       "WHERE b->>'cls' = 'chicken')), 0)::int AS chicken, "
                       "coalesce(sum((SELECT count(*) FROM jsonb_array_elements(boxes) b "
                       "WHERE b->>'cls' = 'dead')), 0)::int AS dead "
                       "FROM label_frames WHERE farm_id = %s GROUP BY gateway_id, camera_id "
                       "ORDER BY gateway_id, camera_id", (farm_id,))
