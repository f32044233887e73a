"""Request and response bodies of the labelling API (a farm's data set, detector health)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from cloud.api.schemas import _In
from cloud.labels.boxes import MAX_BOXES

Coordinate = Annotated[float, Field(ge=-100_000, le=100_000, allow_inf_nan=False)]


class BoxIn(_In):
    cls: Literal["chicken", "dead"]
    box: Annotated[list[Coordinate], Field(min_length=4, max_length=4, description="x1, y1, x2, y2 in frame pixels")]


class LabelsIn(_In):
    boxes: Annotated[list[BoxIn], Field(max_length=MAX_BOXES)] = Field(
        description="Every bird in the frame; an empty list saves the frame as background (no birds)")


class LabelOut(BaseModel):
    cls: str
    box: list[float]


class DetectedOut(LabelOut):
    score: float


class LabelFrameOut(BaseModel):
    gateway_id: str
    camera_id: str
    seq: int
    ts: datetime
    width: int
    height: int
    farm_id: str
    house_id: str | None
    model: str | None = Field(None, description="The model that judged the frame")
    labelled: str | None = Field(None, description="In the set: 'technician' (reviewed) or 'alert'; null if not")
    labelled_at: datetime | None = None


class QuietSpotOut(BaseModel):
    record_id: int = Field(description="The rejected dead-bird report that keeps the spot quiet")
    ts: datetime = Field(description="When it was reported")
    box: list[float] = Field(description="[x1, y1, x2, y2] in frame pixels: nothing is reported there")
    quiet_until: datetime


class IgnoreZoneIn(_In):
    box: Annotated[list[Coordinate], Field(min_length=4, max_length=4)] | None = Field(
        None, description="[x1, y1, x2, y2] in frame pixels; give this or spot_id")
    spot_id: Annotated[int, Field(ge=1, le=2**62)] | None = Field(
        None, description="A quiet spot (the record_id of a rejected report): the zone is its box grown by half its "
                          "size on each side, and it replaces the spot's 30 days")


class IgnoreZoneOut(BaseModel):
    zone_id: int
    box: list[float] = Field(description="[x1, y1, x2, y2] in frame pixels: detections mostly inside are dropped")
    from_record: int | None = Field(None, description="The rejected report the zone was made from, if any")
    created_at: datetime


class AdaptRequestOut(BaseModel):
    id: int
    state: str = Field(description="queued, running, done or failed")
    requested_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    model: str | None = Field(None, description="The model registered for the camera, once done")
    result: dict[str, Any] | None = Field(None, description="What the adaptation reported (frames, boxes, "
                                                            "networks, seconds, start)")
    error: str | None = Field(None, description="Why it failed")
    budget_minutes: float | None = Field(None, description="The wall-time budget the worker took it with")
    ready_by: datetime | None = Field(None, description="Running: when it should be done (its start plus the budget)")
    progress: dict[str, Any] | None = Field(
        None, description="Running: the stage reached, `stage` (training, pseudo_labelling, checking_dead, "
                          "exporting) and, while training, `network` of at most `networks_most`")
    progress_at: datetime | None = Field(None, description="When that stage began")
    ahead: int | None = Field(None, description="Queued: the requests running or queued before it")
    untaken_minutes: int | None = Field(
        None, description="Queued with none ahead for this many minutes: no adapt worker is taking requests")
    overdue: bool = Field(False, description="Running over 5 minutes past `ready_by`: its worker has likely stopped")


class ProposedZoneOut(BaseModel):
    box: list[float] = Field(description="[x1, y1, x2, y2] in frame pixels around text burned into the camera's "
                                         "frames (its clock, its name), not yet inside a no-report zone")


class SuggestedFramesOut(BaseModel):
    items: list[LabelFrameOut] = Field(description="Unlabelled frames to label next, best first: each the "
                                                   "least like those labelled or listed before it")
    unreadable: int = Field(description="Stored frames left out because their image could not be read")


class FrameLabelsOut(LabelFrameOut):
    detector: list[DetectedOut] = Field(description="What the detection worker found in the frame")
    labels: list[LabelOut] | None = Field(description="The saved labels; null when the frame is not in the set")


class SetCameraOut(BaseModel):
    gateway_id: str
    camera_id: str
    frames: int
    reviewed: int
    chicken: int
    dead: int


class WindowOut(BaseModel):
    frames: int
    median_count: float
    mean_score: float | None


class CameraHealthOut(BaseModel):
    gateway_id: str
    camera_id: str
    farm_id: str
    house_id: str | None
    birds: int | None = Field(description="The live flock's birds now (else placed)")
    cameras_in_house: int
    view_share: float | None = Field(description="Share of the house the camera sees, if a technician set it")
    expected_in_view: float | None = Field(
        description="birds x view_share (or 1 / cameras in the house): a rough estimate")
    last_judged: datetime | None
    model: str | None
    labelled: int
    recent: WindowOut | None
    history: WindowOut | None
    judged: bool
    reasons: list[str] = Field(description="few_birds, scores_collapsed, counts_collapsed, dead_rejected; empty when healthy")
    text_unzoned: int = Field(description="Boxes of burned-in text found on its frames (looked for daily) that no "
                                          "no-report zone covers yet: GET .../ignore-zones/proposed lists them")


class CameraViewIn(_In):
    clearable = frozenset({"view_share"})

    view_share: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)] | None = Field(
        description="Share of the house's birds the camera sees (0-1]; null: split evenly between the house's cameras")


class CameraViewOut(BaseModel):
    gateway_id: str
    camera_id: str
    house_id: str | None
    view_share: float | None
