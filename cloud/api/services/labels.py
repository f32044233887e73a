"""Labelling frames into a farm's data set, scoped like the rest of the console: a technician
sees the cameras of farms in their region subtree; frames elsewhere are not found."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from cloud.api import audit
from cloud.api.errors import ApiError, forbidden, invalid, not_found
from cloud.api.pagination import PageParams
from cloud.api.scope import Scope, may
from cloud.detect import quiet, zones
from cloud.labels import health, requests, store, suggest, text_zones
from cloud.labels.boxes import LabelError, make_box, to_json


def _labeller(scope: Scope) -> None:
    if not may(scope.principal, "label_frames"):
        raise forbidden("labelling frames is for technicians")


def get_camera(conn: psycopg.Connection, scope: Scope, gateway_id: str, camera_id: str) -> dict[str, Any]:
    row = conn.execute("SELECT g.farm_id, c.house_id FROM cameras c JOIN gateways g ON g.id = c.gateway_id "
                       "WHERE c.gateway_id = %s AND c.id = %s", (gateway_id, camera_id)).fetchone()
    if row is None or not scope.farm_visible(row[0]):
        raise not_found("camera", f"{gateway_id}/{camera_id}")
    _labeller(scope)
    return {"gateway_id": gateway_id, "camera_id": camera_id, "farm_id": row[0], "house_id": row[1]}


# What a camera's own model is adapted from. Henhouse (docs/results.md, "2026-12-07"), recall at
# P >= 0.9: 1 frame with 3 birds 0.19; 5 frames with 7 birds 0.75, with 13 birds 0.93. Fewer
# frames are refused; fewer birds are only said, since a house camera shows dozens a frame.
ADAPT_MIN_FRAMES = 5
ADAPT_FEW_BIRDS = 12
# A worker looks for requests every 10 s by default: one queued this long with none before it is
# one no worker is taking, and one running this long past its budget is one whose worker stopped
# (the next worker fails it only at twice the budget); the page says so.
UNTAKEN_AFTER = timedelta(minutes=5)


def labelled_counts(conn: psycopg.Connection, scope: Scope, gateway_id: str, camera_id: str) -> dict[str, int]:
    """The camera's labelled frames and the birds labelled on them."""
    get_camera(conn, scope, gateway_id, camera_id)
    frames, birds = store.camera_counts(conn, gateway_id, camera_id)
    return {"frames": frames, "birds": birds}


def request_adapt(conn: psycopg.Connection, scope: Scope, gateway_id: str, camera_id: str) -> dict[str, Any]:
    """Queue the adaptation of the camera's own model from its labelled frames (the adapt worker
    takes it); the camera's open request where one waits or runs already. Audited."""
    camera = get_camera(conn, scope, gateway_id, camera_id)
    labelled, birds = store.camera_counts(conn, gateway_id, camera_id)
    if labelled < ADAPT_MIN_FRAMES:
        raise invalid(f"这个摄像头只标注了 {labelled} 张画面，至少要 {ADAPT_MIN_FRAMES} 张（10 张更好）",
                      f"this camera has {labelled} labelled frame(s); adapting needs {ADAPT_MIN_FRAMES} "
                      "(10 is better)")
    request_id = requests.ask(conn, camera["farm_id"], gateway_id, camera_id, scope.principal.user_id)
    if request_id is not None:
        audit.record(conn, scope.principal.user_id, "request_adapt", "camera", f"{gateway_id}/{camera_id}",
                     {"request": request_id, "labelled": labelled, "birds": birds})
    found = _latest_request(conn, gateway_id, camera_id)
    assert found is not None
    return found


def adapt_request(conn: psycopg.Connection, scope: Scope, gateway_id: str, camera_id: str) -> dict[str, Any] | None:
    """The camera's newest adaptation request, whatever its state, with when a running one will be
    ready and whether a queued one waits for a worker that is not there."""
    get_camera(conn, scope, gateway_id, camera_id)
    return _latest_request(conn, gateway_id, camera_id)


def _latest_request(conn: psycopg.Connection, gateway_id: str, camera_id: str) -> dict[str, Any] | None:
    found = requests.latest(conn, gateway_id, camera_id)
    return None if found is None else {**found, **_waiting(found, datetime.now(UTC))}


def _waiting(request: dict[str, Any], now: datetime) -> dict[str, Any]:
    ready_by = None
    if request["state"] == "running" and request["budget_minutes"] is not None:
        ready_by = request["started_at"] + timedelta(minutes=request["budget_minutes"])
    waited = now - request["requested_at"]
    untaken = request["state"] == "queued" and not request["ahead"] and waited > UNTAKEN_AFTER
    return {"ready_by": ready_by, "untaken_minutes": int(waited.total_seconds() // 60) if untaken else None,
            "overdue": ready_by is not None and now > ready_by + UNTAKEN_AFTER}


def list_frames(conn: psycopg.Connection, scope: Scope, gateway_id: str, camera_id: str, paging: PageParams,
                labelled: bool | None = None) -> tuple[list[dict[str, Any]], int]:
    get_camera(conn, scope, gateway_id, camera_id)
    return store.camera_frames(conn, gateway_id, camera_id, paging.limit, paging.offset, labelled)


# Frames looked at per request: plenty to spread ten over. Each costs its kept signature, or,
# judged before signatures were kept, a read and a decode (240: about a second locally).
SUGGEST_POOL = 240


def suggested_frames(conn: psycopg.Connection, scope: Scope, read: Callable[[str], bytes], gateway_id: str,
                     camera_id: str, count: int) -> tuple[list[dict[str, Any]], int]:
    """(the camera's unlabelled frames to label next, best first; how many stored frames could
    not be read): each the least like the frames already labelled or suggested
    (cloud.labels.suggest), from across all its stored days."""
    get_camera(conn, scope, gateway_id, camera_id)
    candidates, labelled = store.spread_pool(conn, gateway_id, camera_id, SUGGEST_POOL)
    return suggest.choose(candidates, labelled, lambda row: read(row["path"]), count, lambda row: row["signature"])


def quiet_spots(conn: psycopg.Connection, scope: Scope, gateway_id: str, camera_id: str) -> list[dict[str, Any]]:
    """Where rejected reports keep the camera's detector silent (cloud.detect.quiet)."""
    get_camera(conn, scope, gateway_id, camera_id)
    return quiet.spots(conn, gateway_id, camera_id, datetime.now(UTC))


def lift_quiet_spot(conn: psycopg.Connection, scope: Scope, gateway_id: str, camera_id: str, record_id: int) -> None:
    """Let the detector report at that spot again; audited."""
    get_camera(conn, scope, gateway_id, camera_id)
    if not quiet.lift(conn, gateway_id, camera_id, record_id, scope.principal.user_id, datetime.now(UTC)):
        raise not_found("quiet spot", f"{gateway_id}/{camera_id}/{record_id}")
    audit.record(conn, scope.principal.user_id, "lift_quiet", "mortality_record", str(record_id),
                 {"camera": f"{gateway_id}/{camera_id}"})


def ignore_zones(conn: psycopg.Connection, scope: Scope, gateway_id: str, camera_id: str) -> list[dict[str, Any]]:
    """The camera's no-report zones (cloud.detect.zones)."""
    get_camera(conn, scope, gateway_id, camera_id)
    return zones.listed(conn, gateway_id, camera_id)


def add_ignore_zone(conn: psycopg.Connection, scope: Scope, gateway_id: str, camera_id: str,
                    box: list[float] | None, spot_id: int | None) -> dict[str, Any]:
    """A zone where the detector reports nothing, from a box or from a quiet spot (whose 30 days
    it replaces: the spot is lifted); audited."""
    get_camera(conn, scope, gateway_id, camera_id)
    if (box is None) == (spot_id is None):
        raise invalid("请给出区域 box 或静默区域 spot_id，二选一", "give either box or spot_id")
    user = scope.principal.user_id
    if spot_id is not None:
        spot = next((s for s in quiet.spots(conn, gateway_id, camera_id, datetime.now(UTC))
                     if s["record_id"] == spot_id), None)
        if spot is None:
            raise not_found("quiet spot", f"{gateway_id}/{camera_id}/{spot_id}")
        area = zones.grown(tuple(spot["box"]))
        quiet.lift(conn, gateway_id, camera_id, spot_id, user, datetime.now(UTC))
    else:
        assert box is not None
        x0, y0, x1, y1 = box
        if not (0 <= x0 < x1 and 0 <= y0 < y1):
            raise invalid("区域须满足 0 ≤ x1 < x2 且 0 ≤ y1 < y2", "a zone needs 0 <= x1 < x2 and 0 <= y1 < y2",
                          {"box": box})
        area = (x0, y0, x1, y1)
    zone_id = zones.add(conn, gateway_id, camera_id, area, user, spot_id)
    audit.record(conn, user, "add_ignore_zone", "camera", f"{gateway_id}/{camera_id}",
                 {"zone_id": zone_id, "box": [round(v, 1) for v in area], "from_record": spot_id})
    return next(z for z in zones.listed(conn, gateway_id, camera_id) if z["zone_id"] == zone_id)


def text_zone_proposals(conn: psycopg.Connection, scope: Scope, read: Callable[[str], bytes], gateway_id: str,
                        camera_id: str) -> list[list[float]]:
    """Boxes around the text burned into the camera's frames (cloud.labels.text_zones: kept for a
    day, else looked for again) that no zone covers yet: a technician adds each as a no-report
    zone with one click."""
    get_camera(conn, scope, gateway_id, camera_id)
    found = text_zones.current(conn, read, gateway_id, camera_id, datetime.now(UTC))
    return text_zones.unzoned(conn, gateway_id, camera_id, found)


def remove_ignore_zone(conn: psycopg.Connection, scope: Scope, gateway_id: str, camera_id: str, zone_id: int) -> None:
    """Let the detector report inside that zone again; audited."""
    get_camera(conn, scope, gateway_id, camera_id)
    if not zones.remove(conn, gateway_id, camera_id, zone_id):
        raise not_found("no-report zone", f"{gateway_id}/{camera_id}/{zone_id}")
    audit.record(conn, scope.principal.user_id, "remove_ignore_zone", "camera", f"{gateway_id}/{camera_id}",
                 {"zone_id": zone_id})


def get_frame(conn: psycopg.Connection, scope: Scope, gateway_id: str, seq: int) -> dict[str, Any]:
    item = store.frame(conn, gateway_id, seq)
    if item is None or not scope.farm_visible(item["farm_id"]):
        raise not_found("frame", f"{gateway_id}/{seq}")
    _labeller(scope)
    return item


def frame_labels(conn: psycopg.Connection, scope: Scope, gateway_id: str, seq: int) -> dict[str, Any]:
    item = get_frame(conn, scope, gateway_id, seq)
    saved = store.saved_boxes(conn, gateway_id, seq, item["ts"])
    return {**item, "detector": store.detector_boxes(conn, gateway_id, item["camera_id"], seq, item["ts"]),
            "labels": None if saved is None else to_json(saved)}


def put_labels(conn: psycopg.Connection, scope: Scope, gateway_id: str, seq: int,
               boxes: list[dict[str, Any]]) -> dict[str, Any]:
    item = get_frame(conn, scope, gateway_id, seq)
    try:
        parsed = [make_box(b["cls"], b["box"]) for b in boxes]
    except LabelError as exc:
        raise ApiError(422, "invalid", str(exc)) from exc
    store.save(conn, item, parsed, scope.principal.user_id)
    audit.record(conn, scope.principal.user_id, "label", "frame", f"{gateway_id}/{seq}",
                 {"boxes": len(parsed), "dead": sum(b.cls == "dead" for b in parsed)})
    return frame_labels(conn, scope, gateway_id, seq)


def delete_labels(conn: psycopg.Connection, scope: Scope, gateway_id: str, seq: int) -> None:
    item = get_frame(conn, scope, gateway_id, seq)
    if not store.remove(conn, gateway_id, seq, item["ts"]):
        raise not_found("labels of frame", f"{gateway_id}/{seq}")
    audit.record(conn, scope.principal.user_id, "unlabel", "frame", f"{gateway_id}/{seq}", {})


def _farm(conn: psycopg.Connection, scope: Scope, farm_id: str) -> None:
    if not scope.farm_visible(farm_id) or conn.execute("SELECT 1 FROM farms WHERE id = %s",
                                                       (farm_id,)).fetchone() is None:
        raise not_found("farm", farm_id)
    _labeller(scope)


def set_summary(conn: psycopg.Connection, scope: Scope, farm_id: str) -> list[dict[str, Any]]:
    _farm(conn, scope, farm_id)
    return store.set_summary(conn, farm_id)


def label_set(conn: psycopg.Connection, scope: Scope, farm_id: str, camera: str | None) -> list[dict[str, Any]]:
    """The farm's set, or one camera's ("<gateway_id>/<camera id>") of that farm."""
    _farm(conn, scope, farm_id)
    if camera is None:
        return store.label_set(conn, farm_id)
    gateway_id, _, camera_id = camera.partition("/")
    if not camera_id or get_camera(conn, scope, gateway_id, camera_id)["farm_id"] != farm_id:
        raise not_found("camera", camera)
    return store.label_set(conn, farm_id, gateway_id, camera_id)


def camera_health(conn: psycopg.Connection, scope: Scope, farm_id: str | None = None) -> list[dict[str, Any]]:
    if farm_id is not None:
        _farm(conn, scope, farm_id)
    _labeller(scope)
    return health.camera_health(conn, scope.farm_list(), farm_id)


def set_view_share(conn: psycopg.Connection, scope: Scope, gateway_id: str, camera_id: str,
                   share: float | None) -> dict[str, Any]:
    """What share of its house a camera sees, for the detector-health estimate (None: even split)."""
    camera = get_camera(conn, scope, gateway_id, camera_id)
    conn.execute("UPDATE cameras SET view_share = %s WHERE gateway_id = %s AND id = %s",
                 (share, gateway_id, camera_id))
    audit.record(conn, scope.principal.user_id, "update", "camera", f"{gateway_id}/{camera_id}",
                 {"view_share": share})
    return {**camera, "view_share": share}
