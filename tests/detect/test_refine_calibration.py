"""Setting a two-stage model's proposal score, weights and thresholds on validation frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cloud.detect.detector import OnnxDetector
from cloud.detect.registry import REGISTRY, ModelEntry, load_entry
from firmware_sim.camera.dataset import write_dataset
from firmware_sim.camera.scene import random_sample

pytestmark = pytest.mark.skipif(not REGISTRY.exists(), reason="no model registered yet")


def test_proposals_over_a_higher_score_are_what_the_detector_proposes_there() -> None:
    """Calibration collects proposals once at the lowest score and filters them for the
    higher ones; that is only sound if the filter gives the detector's own proposals."""
    det = OnnxDetector(load_entry(), threads=2)
    for seed in (11, 12):
        rgb, _, _ = random_sample(seed, (1280, 720))
        frame = np.ascontiguousarray(rgb[..., ::-1])
        [low] = det.detect([frame], conf=0.02, refine=False)
        [high] = det.detect([frame], conf=0.05, refine=False)
        assert low.class_scores is not None
        kept = low.select(low.class_scores.max(axis=1) > 0.05)
        assert len(high) < len(low)
        order_k, order_h = np.lexsort(kept.boxes.T), np.lexsort(high.boxes.T)
        assert np.allclose(kept.boxes[order_k], high.boxes[order_h])
        assert np.array_equal(kept.classes[order_k], high.classes[order_h])


def test_recalibrating_a_two_stage_model_sets_its_proposal_score_and_thresholds(
    tmp_path: Path, two_stage: ModelEntry
) -> None:
    from models.refiner import PROPOSAL_CONFS, SECOND_LOOK_BANDS, TRUST_SCORES, recalibrate

    entry = two_stage
    write_dataset(tmp_path / "val", 4, seed=41, sizes=[(1280, 720)])
    before = REGISTRY.read_text()
    raw = recalibrate(entry.name, tmp_path / "val")
    assert REGISTRY.read_text() == before  # returns the entry; registering is the caller's
    refiner = raw["refiner"]
    assert refiner["proposal_conf"] in PROPOSAL_CONFS
    assert refiner["proposal_conf"] >= refiner.get("trained_proposal_conf", 0.0)
    assert set(raw["conf"]) == set(refiner["detector_weight"]) == {"chicken", "dead"}
    assert all(0 < c <= 1 for c in raw["conf"].values())
    assert set(refiner["trust"]) <= {"chicken", "dead"}
    assert all(t in TRUST_SCORES for t in refiner["trust"].values())
    assert all(tuple(b) in SECOND_LOOK_BANDS for b in refiner["second_look"].values())
    assert "evaluation" not in raw and "meets_targets" not in raw  # taken at other settings
    assert raw["calibrated"]["data"] == str(tmp_path / "val")


def test_recalibrating_a_one_stage_model_is_refused() -> None:
    from models.refiner import recalibrate

    with pytest.raises(ValueError, match="no refiner"):
        recalibrate("fuhuiyang-dead-v6", Path("unused"))
