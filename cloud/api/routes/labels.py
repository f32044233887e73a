"""Labelling: a camera's frames, the detector's boxes on one, the corrected labels, the farm's
set as a YOLO zip, and detector health per camera. Technicians (and admins) in scope only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from cloud.api.deps import Conn, CurrentScope
from cloud.api.errors import not_found
from cloud.api.label_schemas import (
    AdaptRequestOut,
    CameraHealthOut,
    CameraViewIn,
    CameraViewOut,
    FrameLabelsOut,
    IgnoreZoneIn,
    IgnoreZoneOut,
    LabelFrameOut,
    LabelsIn,
    ProposedZoneOut,
    QuietSpotOut,
    SetCameraOut,
    SuggestedFramesOut,
)
from cloud.api.pagination import Page, PageParams, page_params
from cloud.api.schemas import Id
from cloud.api.services import labels
from cloud.frames_store import FrameStore
from cloud.labels import zip_bytes

router = APIRouter(tags=["labels"])
Paging = Annotated[PageParams, Depends(page_params)]
Seq = Annotated[int, Path(ge=0, le=2**62)]
CameraKey = Annotated[str | None, Query(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}/[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
                                        description="<gateway_id>/<camera id>")]


@router.get("/cameras/health", response_model=list[CameraHealthOut])
def camera_health(conn: Conn, scope: CurrentScope, farm_id: Annotated[Id | None, Query()] = None
                  ) -> list[CameraHealthOut]:
    """Per camera: birds seen against the birds expected in view, scores against the camera's
    own history, and whether the detector cannot read it yet (`reasons` not empty)."""
    return [CameraHealthOut(**c) for c in labels.camera_health(conn, scope, farm_id)]


@router.patch("/cameras/{gateway_id}/{camera_id}", response_model=CameraViewOut)
def camera_view(gateway_id: Id, camera_id: Id, body: CameraViewIn, conn: Conn, scope: CurrentScope) -> CameraViewOut:
    """Set the share of the house the camera sees (the health check's expected birds in view)."""
    return CameraViewOut(**labels.set_view_share(conn, scope, gateway_id, camera_id, body.view_share))


@router.get("/cameras/{gateway_id}/{camera_id}/frames", response_model=Page[LabelFrameOut])
def camera_frames(gateway_id: Id, camera_id: Id, conn: Conn, scope: CurrentScope, paging: Paging,
                  labelled: bool | None = None) -> Page[LabelFrameOut]:
    items, total = labels.list_frames(conn, scope, gateway_id, camera_id, paging, labelled)
    return Page(items=[LabelFrameOut(**i) for i in items], total=total, **paging.model_dump())


@router.get("/cameras/{gateway_id}/{camera_id}/frames/suggested", response_model=SuggestedFramesOut)
def suggested_frames(request: Request, gateway_id: Id, camera_id: Id, conn: Conn, scope: CurrentScope,
                     count: Annotated[int, Query(ge=1, le=50)] = 10) -> SuggestedFramesOut:
    """The frames to label first: spread over the camera's stored days, light and birds, each
    the least like any already labelled, so that ten labels teach a camera model its whole view."""
    frames: FrameStore = request.app.state.frames
    items, unreadable = labels.suggested_frames(conn, scope, frames.read, gateway_id, camera_id, count)
    return SuggestedFramesOut(items=[LabelFrameOut(**i) for i in items], unreadable=unreadable)


@router.get("/cameras/{gateway_id}/{camera_id}/quiet-spots", response_model=list[QuietSpotOut])
def quiet_spots(gateway_id: Id, camera_id: Id, conn: Conn, scope: CurrentScope) -> list[QuietSpotOut]:
    """Where a rejected dead-bird report keeps the camera's detector silent (30 days from the report)."""
    return [QuietSpotOut(**q) for q in labels.quiet_spots(conn, scope, gateway_id, camera_id)]


@router.delete("/cameras/{gateway_id}/{camera_id}/quiet-spots/{spot_id}", status_code=204,
               response_class=Response)
def lift_quiet_spot(gateway_id: Id, camera_id: Id, spot_id: Annotated[int, Path(ge=1, le=2**62)], conn: Conn,
                    scope: CurrentScope) -> Response:
    """Let the detector report at that spot again (a carcass may lie where a feeder was once taken
    for one). `spot_id` is the `record_id` of the rejected report that keeps it quiet."""
    labels.lift_quiet_spot(conn, scope, gateway_id, camera_id, spot_id)
    return Response(status_code=204)


@router.post("/cameras/{gateway_id}/{camera_id}/adapt", response_model=AdaptRequestOut, status_code=202)
def request_adapt(gateway_id: Id, camera_id: Id, conn: Conn, scope: CurrentScope) -> AdaptRequestOut:
    """Ask for the camera's own model, adapted from its labelled frames (at least 5) by
    `fuhuiyang models adapt-worker`; the camera's open request where one waits or runs already."""
    return AdaptRequestOut(**labels.request_adapt(conn, scope, gateway_id, camera_id))


@router.get("/cameras/{gateway_id}/{camera_id}/adapt", response_model=AdaptRequestOut | None)
def adapt_request(gateway_id: Id, camera_id: Id, conn: Conn, scope: CurrentScope) -> AdaptRequestOut | None:
    """The camera's newest adaptation request; null when none was ever made."""
    found = labels.adapt_request(conn, scope, gateway_id, camera_id)
    return None if found is None else AdaptRequestOut(**found)


@router.get("/cameras/{gateway_id}/{camera_id}/ignore-zones", response_model=list[IgnoreZoneOut])
def ignore_zones(gateway_id: Id, camera_id: Id, conn: Conn, scope: CurrentScope) -> list[IgnoreZoneOut]:
    """Where the detector reports nothing on this camera, for good: detections lying mostly inside
    a zone are dropped before they are stored (the OSD, a feeder, a window)."""
    return [IgnoreZoneOut(**z) for z in labels.ignore_zones(conn, scope, gateway_id, camera_id)]


@router.get("/cameras/{gateway_id}/{camera_id}/ignore-zones/proposed", response_model=list[ProposedZoneOut])
def proposed_ignore_zones(request: Request, gateway_id: Id, camera_id: Id, conn: Conn,
                          scope: CurrentScope) -> list[ProposedZoneOut]:
    """Text burned into the camera's frames (clock, camera name), found over its stored days and
    not yet a no-report zone: add one with POST .../ignore-zones and its box."""
    frames: FrameStore = request.app.state.frames
    return [ProposedZoneOut(box=b) for b in labels.text_zone_proposals(conn, scope, frames.read, gateway_id, camera_id)]


@router.post("/cameras/{gateway_id}/{camera_id}/ignore-zones", response_model=IgnoreZoneOut, status_code=201)
def add_ignore_zone(gateway_id: Id, camera_id: Id, body: IgnoreZoneIn, conn: Conn,
                    scope: CurrentScope) -> IgnoreZoneOut:
    """Add a no-report zone from a box, or from a quiet spot (`spot_id`), which it replaces."""
    return IgnoreZoneOut(**labels.add_ignore_zone(conn, scope, gateway_id, camera_id, body.box, body.spot_id))


@router.delete("/cameras/{gateway_id}/{camera_id}/ignore-zones/{zone_id}", status_code=204,
               response_class=Response)
def remove_ignore_zone(gateway_id: Id, camera_id: Id, zone_id: Annotated[int, Path(ge=1, le=2**62)], conn: Conn,
                       scope: CurrentScope) -> Response:
    """Let the detector report inside that zone again."""
    labels.remove_ignore_zone(conn, scope, gateway_id, camera_id, zone_id)
    return Response(status_code=204)


@router.get("/frames/{gateway_id}/{seq}", response_model=FrameLabelsOut)
def frame(gateway_id: Id, seq: Seq, conn: Conn, scope: CurrentScope) -> FrameLabelsOut:
    return FrameLabelsOut(**labels.frame_labels(conn, scope, gateway_id, seq))


@router.get("/frames/{gateway_id}/{seq}/image", response_class=Response,
            responses={200: {"content": {"image/jpeg": {}}}})
def frame_image(request: Request, gateway_id: Id, seq: Seq, conn: Conn, scope: CurrentScope) -> Response:
    item = labels.get_frame(conn, scope, gateway_id, seq)
    frames: FrameStore = request.app.state.frames
    try:
        data = frames.read(item["path"])
    except (OSError, ValueError) as exc:
        raise not_found("frame image", f"{gateway_id}/{seq}") from exc
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=86400"})


@router.put("/frames/{gateway_id}/{seq}/labels", response_model=FrameLabelsOut)
def put_labels(gateway_id: Id, seq: Seq, body: LabelsIn, conn: Conn, scope: CurrentScope) -> FrameLabelsOut:
    """Save the frame's corrected boxes; the frame joins its farm's data set."""
    boxes = [b.model_dump() for b in body.boxes]
    return FrameLabelsOut(**labels.put_labels(conn, scope, gateway_id, seq, boxes))


@router.delete("/frames/{gateway_id}/{seq}/labels", status_code=204, response_class=Response)
def delete_labels(gateway_id: Id, seq: Seq, conn: Conn, scope: CurrentScope) -> Response:
    """Take the frame out of its farm's data set."""
    labels.delete_labels(conn, scope, gateway_id, seq)
    return Response(status_code=204)


@router.get("/farms/{farm_id}/label-set", response_model=list[SetCameraOut])
def label_set(farm_id: Id, conn: Conn, scope: CurrentScope) -> list[SetCameraOut]:
    return [SetCameraOut(**r) for r in labels.set_summary(conn, scope, farm_id)]


@router.get("/farms/{farm_id}/label-set.zip", response_class=Response,
            responses={200: {"content": {"application/zip": {}}}})
def label_set_zip(request: Request, farm_id: Id, conn: Conn, scope: CurrentScope,
                  camera: CameraKey = None) -> Response:
    """The set as a YOLO folder in a zip: images/, labels/, data.yaml (0: chicken, 1: dead)."""
    frames: FrameStore = request.app.state.frames
    data, counts = zip_bytes(labels.label_set(conn, scope, farm_id, camera), frames.read)
    name = f"labels-{farm_id}" + (f"-{camera.replace('/', '-')}" if camera else "") + ".zip"
    return Response(data, media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store",
        "X-Label-Images": str(counts["images"]), "X-Label-Skipped": str(counts["skipped"])})
