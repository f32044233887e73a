"""Labelling pages of the technician console: a camera's frames (paged) and the box editor.

The editor (static/labels.js) draws the detector's boxes over the frame and saves the corrected
boxes through the labelling API (PUT /api/v1/frames/{gateway}/{seq}/labels) with the session
cookie; the set downloads as a YOLO zip from the same API.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from cloud.api.deps import Conn
from cloud.api.errors import ApiError, not_found
from cloud.api.pagination import PageParams
from cloud.api.services import labels
from cloud.detect.registry import RegistryError
from cloud.detect.scoped import ModelCatalog
from cloud.frames_store import FrameStore
from cloud.labels.boxes import CLASSES
from cloud.web.deps import SameOrigin, WebScope
from cloud.web.i18n import translator
from cloud.web.render import lang_of, render

router = APIRouter()
PER_PAGE = 24
SUGGEST = 12  # a technician's sitting: ten frames to adapt a camera, two to spare
CAMERA = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}/[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
CameraField = Annotated[str, Form(pattern=CAMERA)]
RowId = Annotated[int, Form(ge=1, le=2**62)]
Pixel = Annotated[float, Form(ge=0, le=100_000, allow_inf_nan=False)]


def _parts(camera: str) -> tuple[str, str]:
    gateway_id, _sep, camera_id = camera.partition("/")
    return gateway_id, camera_id


def _models(request: Request) -> ModelCatalog | None:
    """The registries the detection worker reads (shipped and this deployment's models dir),
    re-read when they change; None when they cannot be read (the page says so, nothing fails)."""
    state = request.app.state
    models: ModelCatalog | None = getattr(state, "models", None)
    try:
        if models is None:
            models = state.models = ModelCatalog(models_dir=state.settings.models_dir)
        else:
            models.refresh()
    except RegistryError:
        return None
    return models


@router.get("/console/labels")
def camera_list(request: Request, conn: Conn, scope: WebScope, camera: str | None = Query(None, pattern=CAMERA),
                farm: str | None = Query(None, pattern=ID), page: int = Query(0, ge=0, le=100_000),
                show: str = Query("all", pattern="^(all|todo|done|suggested)$")) -> Response:
    """The cameras in scope with their detector health; with `camera`, that camera's frames
    (`show=suggested`: the ones to label first, cloud.labels.suggest)."""
    cameras = labels.camera_health(conn, scope, farm)
    context: dict[str, Any] = {"principal": scope.principal, "cameras": cameras, "camera": None, "frames": [],
                               "total": 0, "page": page, "per_page": PER_PAGE, "farm": farm, "show": show}
    if camera is not None:
        gateway_id, camera_id = _parts(camera)
        info = labels.get_camera(conn, scope, gateway_id, camera_id)
        store: FrameStore = request.app.state.frames
        if show == "suggested":
            frames, unreadable = labels.suggested_frames(conn, scope, store.read, gateway_id, camera_id, SUGGEST)
            total, context["unreadable"] = len(frames), unreadable
        else:
            labelled = {"all": None, "todo": False, "done": True}[show]
            frames, total = labels.list_frames(conn, scope, gateway_id, camera_id,
                                               PageParams(limit=PER_PAGE, offset=page * PER_PAGE), labelled)
        newest = frames[:1] if show == "all" and page == 0 else labels.list_frames(
            conn, scope, gateway_id, camera_id, PageParams(limit=1, offset=0))[0]  # the first page holds it already
        first_page = show == "all" and page == 0  # burned-in text is looked for there, not on every page
        models = _models(request)
        context.update(camera=info, frames=frames, total=total, farm=info["farm_id"],
                       judge=models.judge_of(info["farm_id"], camera) if models else None,
                       adapting=labels.adapt_request(conn, scope, gateway_id, camera_id),
                       labelled=labels.labelled_counts(conn, scope, gateway_id, camera_id),
                       adapt_min=labels.ADAPT_MIN_FRAMES, few_birds=labels.ADAPT_FEW_BIRDS,
                       quiet=labels.quiet_spots(conn, scope, gateway_id, camera_id),
                       zones=labels.ignore_zones(conn, scope, gateway_id, camera_id),
                       proposed=labels.text_zone_proposals(conn, scope, store.read, gateway_id, camera_id)
                       if first_page else [],
                       zone_view=newest[0] if newest else None)  # the zones drawn on the newest frame
    return render(request, "labels.html", context)


@router.get("/console/labels/{gateway_id}/{seq}")
def editor(request: Request, gateway_id: str, seq: int, conn: Conn, scope: WebScope) -> Response:
    if not 0 <= seq <= 2**62:
        raise not_found("frame", f"{gateway_id}/{seq}")
    item = labels.frame_labels(conn, scope, gateway_id, seq)
    t = translator(lang_of(request, scope.principal))
    older = conn.execute("SELECT seq FROM frames WHERE gateway_id = %s AND camera_id = %s AND ts < %s "
                         "ORDER BY ts DESC LIMIT 1", (gateway_id, item["camera_id"], item["ts"])).fetchone()
    data = {
        "frame": {"gateway_id": gateway_id, "camera_id": item["camera_id"], "seq": seq, "width": item["width"],
                  "height": item["height"], "farm_id": item["farm_id"]},
        "image": f"/api/v1/frames/{gateway_id}/{seq}/image",
        "save": f"/api/v1/frames/{gateway_id}/{seq}/labels",
        "classes": list(CLASSES),
        "detector": [d for d in item["detector"] if d["cls"] in CLASSES],
        "labels": item["labels"],
        "text": {k: t(k) for k in ("chicken", "dead", "saved_boxes", "save_failed", "boxes_count",
                                   "not_labelled", "labelled_frames")},
    }
    return render(request, "label_frame.html", {
        "principal": scope.principal, "item": item, "data": data, "older": older[0] if older else None})


def _back_to(camera: str, section: str) -> Response:
    """After a form on a camera's page: that page again, at the section changed."""
    return RedirectResponse(f"/console/labels?camera={quote(camera, safe='')}#{section}", status_code=303)


@router.post("/console/labels/quiet-spots/lift")
def lift_quiet(conn: Conn, scope: WebScope, _: SameOrigin, camera: CameraField, record: RowId) -> Response:
    """Let the detector report again where a rejected report kept the camera quiet."""
    labels.lift_quiet_spot(conn, scope, *_parts(camera), record)
    return _back_to(camera, "quiet")


@router.post("/console/labels/adapt")
def request_adapt(conn: Conn, scope: WebScope, _: SameOrigin, camera: CameraField) -> Response:
    """Ask the adapt worker for the camera's own model, from its labelled frames."""
    labels.request_adapt(conn, scope, *_parts(camera))
    return _back_to(camera, "model")


@router.post("/console/labels/ignore-zones")
def add_zone(conn: Conn, scope: WebScope, _: SameOrigin, camera: CameraField, spot: RowId) -> Response:
    """Never report at a quiet spot: it becomes a no-report zone (cloud.detect.zones)."""
    labels.add_ignore_zone(conn, scope, *_parts(camera), None, spot)
    return _back_to(camera, "zones")


@router.post("/console/labels/ignore-zones/box")
def add_zone_box(conn: Conn, scope: WebScope, _: SameOrigin, camera: CameraField, x1: Pixel, y1: Pixel, x2: Pixel,
                 y2: Pixel) -> Response:
    """A no-report zone typed in frame pixels (the OSD before it was ever reported, say)."""
    labels.add_ignore_zone(conn, scope, *_parts(camera), [x1, y1, x2, y2], None)
    return _back_to(camera, "zones")


@router.post("/console/labels/ignore-zones/remove")
def remove_zone(conn: Conn, scope: WebScope, _: SameOrigin, camera: CameraField, zone: RowId) -> Response:
    """Let the detector report inside a no-report zone again."""
    labels.remove_ignore_zone(conn, scope, *_parts(camera), zone)
    return _back_to(camera, "zones")


@router.post("/console/labels/view-share")
def view_share(conn: Conn, scope: WebScope, _: SameOrigin, camera: CameraField,
               share: Annotated[str, Form(max_length=16)] = "") -> Response:
    """The share of its house a camera sees (empty: split evenly between the house's cameras)."""
    gateway_id, camera_id = _parts(camera)
    value: float | None = None
    if share.strip():
        try:
            value = float(share.strip().rstrip("%")) / (100 if share.strip().endswith("%") else 1)
        except ValueError:
            value = -1.0
        if not 0 < value <= 1:
            raise ApiError(422, "invalid", "the share is a number over 0 and at most 1 (or a percentage)")
    labels.set_view_share(conn, scope, gateway_id, camera_id, value)
    return _back_to(camera, "view-share")
