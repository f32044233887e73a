"""Whether a camera's adapted model still finds dead birds (`models.dead_check`), and the served
detector that keeps the base's `dead` when it does not (`cloud.detect.DeadFromBase`)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

from cloud.detect import (
    NEVER_TRUSTED,
    REGISTRY,
    DeadFromBase,
    Detections,
    OnnxDetector,
    RegistryError,
    Sessions,
    load_registered,
    served_detector,
)
from models.copy_paste import Labelled
from models.dead_check import (
    FLOOR,
    PER_FRAME,
    PROBE_FRAMES,
    TARGET_RECALL,
    ProbeScores,
    check_dead,
    probe_frames,
    score_probe,
)
from models.yolo_folder import CLASSES

DEAD, CHICKEN = CLASSES.index("dead"), CLASSES.index("chicken")
MODEL_DEAD = 0  # the model under test names its classes ("dead", "chicken")
FRAMES, CARCASSES_PER_FRAME = 5, 4
CARCASSES = FRAMES * CARCASSES_PER_FRAME


def probe() -> list[Labelled]:
    """Frames with one live bird and four carcasses each (what `probe_frames` makes)."""
    out = []
    for i in range(FRAMES):
        boxes = np.array([[20 + 120 * k, 40, 120 + 120 * k, 120] for k in range(1 + CARCASSES_PER_FRAME)],
                         np.float64)
        classes = np.array([CHICKEN] + [DEAD] * CARCASSES_PER_FRAME)
        out.append(Labelled(f"p{i}", np.full((360, 640, 3), i, np.uint8), classes, boxes))
    return out


def scripted(carcass_scores: Sequence[float], live_dead_score: float,
             shift: float = 0.0) -> Callable[[list[np.ndarray]], list[Detections]]:
    """A model that finds the probe's carcasses with the given scores, in order, and calls each
    frame's live bird `dead` at `live_dead_score`; its boxes moved by `shift` px."""
    scores = iter(carcass_scores)
    by_frame = {}
    for f in probe():
        s = np.array([live_dead_score] + [next(scores) for _ in range(CARCASSES_PER_FRAME)], np.float32)
        by_frame[int(f.image[0, 0, 0])] = Detections((f.boxes + shift).astype(np.float32), s,
                                                     np.full(len(s), MODEL_DEAD, np.int64))
    return lambda images: [by_frame[int(im[0, 0, 0])] for im in images]


def scores_of(carcass_scores: Sequence[float], live_dead_score: float, shift: float = 0.0) -> ProbeScores:
    return score_probe(scripted(carcass_scores, live_dead_score, shift), MODEL_DEAD, probe())


def test_dead_is_served_where_the_probe_finds_the_target_share_of_carcasses() -> None:
    scores = np.linspace(0.24, 0.06, CARCASSES).tolist()  # all under the served 0.25
    found = check_dead(scores_of(scores, 0.1), scores_of([0.0] * CARCASSES, 0.0), 0.3, ceiling=0.25)
    needed = math.ceil(TARGET_RECALL * CARCASSES)
    assert found.threshold == pytest.approx(scores[needed - 1], abs=2e-4) and found.threshold < scores[needed - 1]
    assert found.carcasses == CARCASSES and found.own_found == needed
    assert found.own_false_boxes == FRAMES  # each live bird, `dead` at 0.1, is above the threshold
    assert not found.keeps_base and found.to_json()["served_by"] == "own"


def test_a_sure_model_keeps_the_default_and_a_blind_one_the_floor() -> None:
    nothing = scores_of([0.0] * CARCASSES, 0.0)
    sure = check_dead(scores_of([0.9] * CARCASSES, 0.3), nothing, 0.3, 0.25)
    assert sure.threshold == 0.25 and sure.own_found == CARCASSES and sure.own_false_boxes == FRAMES
    blind = check_dead(nothing, nothing, 0.3, 0.25)
    assert blind.threshold == FLOOR and blind.own_found == 0 and blind.own_false_boxes == 0
    assert not blind.keeps_base  # the base finds none either: nothing to fall back on


def test_a_box_off_its_carcass_finds_nothing() -> None:
    moved = scores_of([0.2] * CARCASSES, 0.0, shift=60.0)
    assert moved.hits == () and len(moved.others) == CARCASSES + FRAMES


def test_the_base_keeps_dead_when_the_adapted_model_finds_fewer_carcasses() -> None:
    own = scores_of([0.6] * 6 + [0.0] * (CARCASSES - 6), 0.0)  # 6 of 20 even at the floor
    base = scores_of([0.5] * 12 + [0.1] * (CARCASSES - 12), 0.4)
    check = check_dead(own, base, base_threshold=0.3, ceiling=0.25)
    assert (check.own_found, check.base_found, check.base_false_boxes) == (6, 12, FRAMES)
    assert check.keeps_base and check.to_json()["served_by"] == "base"


def test_the_probe_is_the_farms_frames_with_carcasses_adapting_never_drew() -> None:
    from models.carcass_replay import replay_frames

    farm = [Labelled(f"f{i}", np.full((360, 640, 3), 80, np.uint8), np.array([CHICKEN]),
                     np.array([[20, 40, 120, 120]], np.float64)) for i in range(2)]
    frames = probe_frames(farm, seed=0)
    assert len(frames) == PROBE_FRAMES
    assert all((f.classes == DEAD).sum() == PER_FRAME and f.classes[0] == CHICKEN for f in frames)
    replayed = replay_frames(farm, seed=0)[0]  # same frame, replay's carcasses
    assert not np.array_equal(frames[0].image, replayed.image)


class Fixed:
    """Stands in for an OnnxDetector: fixed boxes, kept where their class's threshold passes."""

    def __init__(self, name: str, scores: list[float], classes: list[int]) -> None:
        self.name, self.entry = name, None
        self.classes = ("chicken", "dead")
        self.conf = np.array([0.25, 0.25], np.float32)
        self.det = Detections(np.array([[10 * i, 0, 10 * i + 8, 8] for i in range(len(scores))], np.float32),
                              np.array(scores, np.float32), np.array(classes, np.int64))
        self.asked: list[np.ndarray] = []

    def thresholds(self, conf: np.ndarray | None) -> np.ndarray:
        return OnnxDetector.thresholds(self, conf)  # type: ignore[arg-type]

    def detect(self, frames: Sequence[np.ndarray], *, conf: np.ndarray, iou: float | None = None) -> list[Detections]:
        self.asked.append(np.asarray(conf))
        return [self.det.select(self.det.scores > np.asarray(conf)[self.det.classes]) for _ in frames]


def test_dead_from_base_takes_birds_from_the_adapted_model_and_carcasses_from_the_base() -> None:
    own = Fixed("cam1", [0.9, 0.6], [0, 1])  # a bird, and a `dead` it is not to be trusted with
    base = Fixed("v6", [0.8, 0.5, 0.2], [0, 1, 1])
    joined = DeadFromBase(own, base)  # type: ignore[arg-type]
    (det,) = joined.detect([np.zeros((8, 8, 3), np.uint8)], conf=[0.3, 0.4])
    assert det.classes.tolist() == [0, 1] and det.scores.tolist() == pytest.approx([0.9, 0.5])
    assert own.asked[0].tolist() == pytest.approx([0.3, NEVER_TRUSTED])
    assert base.asked[0].tolist() == pytest.approx([NEVER_TRUSTED, 0.4])


@pytest.mark.skipif(not REGISTRY.exists(), reason="no model registered yet")
def test_an_entry_with_dead_from_is_served_with_its_base(tmp_path: Path) -> None:
    shipped = json.loads(REGISTRY.read_text())
    raw = dict(shipped["models"][shipped["default"]])
    (tmp_path / "cam1.onnx").symlink_to((REGISTRY.parent / raw["file"]).resolve())
    raw.update(file="cam1.onnx", dead_from=shipped["default"])
    raw.pop("refiner", None)
    (tmp_path / "registry.json").write_text(json.dumps({"models": {"cam1": raw}}))
    entry = load_registered("cam1", tmp_path)
    sessions = Sessions(lambda name: load_registered(name, tmp_path), threads=1)
    default = served_detector(load_registered(shipped["default"], tmp_path), sessions)
    served = served_detector(entry, sessions)
    # the base is the session the default model already holds, not a second one
    assert isinstance(served, DeadFromBase) and served.base is default
    assert served_detector(entry, sessions).own is served.own
    with pytest.raises(RegistryError, match="takes `dead` from"):
        served_detector(entry, Sessions(threads=1))
