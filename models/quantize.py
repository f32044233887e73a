"""Static INT8 quantisation of the detector with ONNX Runtime, calibrated on rendered frames.

Only convolutions are quantised (QDQ, per-channel weights): the head's concat of box
coordinates (0–input size) and class scores (0–1) must stay float, or one scale would
flatten every score.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)


class _Frames:
    """An onnxruntime CalibrationDataReader over letterboxed rendered frames."""

    def __init__(
        self, input_name: str, size: int, stride: int | None, count: int, seed: int
    ) -> None:
        self.input_name = input_name
        self.size, self.stride = size, stride
        self.seeds = iter(range(seed, seed + count))

    def get_next(self) -> dict[str, np.ndarray] | None:
        from cloud.detect import letterbox, to_tensor
        from firmware_sim.camera.scene import random_sample

        seed = next(self.seeds, None)
        if seed is None:
            return None
        rgb, _, _ = random_sample(seed, (1280, 720))
        boxed, _ = letterbox(np.ascontiguousarray(rgb[..., ::-1]), self.size, self.stride)
        return {self.input_name: to_tensor([boxed])}


def quantize(src: Path, dst: Path, size: int, *, count: int = 64, seed: int = 50_000) -> Path:
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
            _Frames(inp.name, size, stride, count, seed),
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
