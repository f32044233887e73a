"""Dead-bird detection: ONNX Runtime inference with pure-numpy pre/post-processing.

The names below are the package's public entry points: `models` (training, evaluation,
refiner building) imports only these. Importing them loads numpy and OpenCV, not ONNX
Runtime, which the detector and the registry's checks load when they first run.
"""

from cloud.detect.dead_from import DeadFromBase, Sessions, served_detector
from cloud.detect.detector import NEVER_TRUSTED, NO_SECOND_LOOK, OnnxDetector
from cloud.detect.osd import MIN_FRAMES as TEXT_MIN_FRAMES
from cloud.detect.osd import text_zones
from cloud.detect.postprocess import Detections, best_overlap, iou_matrix, iou_one_to_many
from cloud.detect.preprocess import letterbox, to_tensor
from cloud.detect.refine import (
    RefinerSpec,
    crop_tensor,
    cut,
    doubtful,
    finish,
    from_window,
    fuse,
    mirror,
    prior,
    second_look,
    to_window,
    trusted,
    windows,
)
from cloud.detect.registry import (
    REGISTRY,
    ModelEntry,
    RegistryError,
    entry_from_onnx,
    load_entry,
    load_registered,
    local_registry,
    sha256_file,
)
from cloud.detect.stillness import CameraTracker, StillnessConfig
from cloud.detect.zones import inside_share, outside

__all__ = [
    "NEVER_TRUSTED",
    "NO_SECOND_LOOK",
    "REGISTRY",
    "CameraTracker",
    "DeadFromBase",
    "Detections",
    "ModelEntry",
    "OnnxDetector",
    "RefinerSpec",
    "RegistryError",
    "Sessions",
    "StillnessConfig",
    "TEXT_MIN_FRAMES",
    "best_overlap",
    "crop_tensor",
    "cut",
    "doubtful",
    "entry_from_onnx",
    "finish",
    "from_window",
    "fuse",
    "inside_share",
    "iou_matrix",
    "iou_one_to_many",
    "letterbox",
    "load_entry",
    "load_registered",
    "local_registry",
    "mirror",
    "outside",
    "prior",
    "second_look",
    "served_detector",
    "sha256_file",
    "text_zones",
    "to_tensor",
    "to_window",
    "trusted",
    "windows",
]
