"""Static INT8 quantisation of the detector with ONNX Runtime, calibrated on frames it serves.

Only convolutions are quantised (QDQ, per-channel weights): the head's concat of box
coordinates (0–input size) and class scores (0–1) must stay float, or one scale would
flatten every score. Activation ranges come from rendered frames (`rendered`) or, for a
camera's own model, from that camera's frames (`models.adapt`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)


class _Frames:
    """An onnxruntime CalibrationDataReader over BGR frames, letterboxed as the detector serves."""

    def __init__(self, input_name: str, size: int, stride: int | None, frames: Iterable[np.ndarray]) -> None:
        self.input_name = input_name
        self.size, self.stride = size, stride
        self.frames = iter(frames)

    def get_next(self) -> dict[str, np.ndarray] | None:
        from cloud.detect import letterbox, to_tensor

        frame = next(self.frames, None)
        if frame is None:
            return None
        boxed, _ = letterbox(np.ascontiguousarray(frame), self.size, self.stride)
        return {self.input_name: to_tensor([boxed])}


def rendered(count: int = 64, seed: int = 50_000) -> Iterator[np.ndarray]:
    """`count` rendered 1280x720 frames, BGR."""
    from firmware_sim.camera.scene import random_sample

    for s in range(seed, seed + count):
        rgb, _, _ = random_sample(s, (1280, 720))
        yield rgb[..., ::-1]


def quantize(src: Path, dst: Path, size: int, frames: Iterable[np.ndarray]) -> Path:
    """`dst`: the INT8 copy of `src`, its activation ranges those seen on `frames` (BGR)."""
    import onnxruntime as ort
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    sess = ort.InferenceSession(str(src), providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    stride = None if isinstance(inp.shape[-1], int) else 32
    prepped = dst.with_suffix(".prep.onnx")
    quant_pre_process(str(src), str(prepped), skip_symbolic_shape=True)
    try:
        quantize_static(
            str(prepped),
            str(dst),
            _Frames(inp.name, size, stride, frames),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            op_types_to_quantize=["Conv"],
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
        )
    finally:
        prepped.unlink(missing_ok=True)
    log.info("quantised %s -> %s", src, dst)
    return dst
