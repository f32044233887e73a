"""`fuhuiyang bench detect`: our ONNX pipeline against the bare session and ultralytics.

All three run on the same frames in the same process: rendered poultry-house frames
(1280x720, the camera's native size) unless a YOLO folder is given.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import numpy as np

if TYPE_CHECKING:
    from cloud.detect.detector import OnnxDetector
    from cloud.detect.postprocess import Detections

log = logging.getLogger(__name__)


def _frames(data: Path | None, count: int, seed: int) -> list[np.ndarray]:
    import cv2

    if data is not None:
        from models.evaluate import image_files

        files = image_files(data)[:count]
        return [f for f in (cv2.imread(str(p), cv2.IMREAD_COLOR) for p in files) if f is not None]
    from firmware_sim.camera.scene import random_sample

    out = []
    for i in range(count):
        rgb, _, _ = random_sample(seed + i, (1280, 720))
        out.append(np.ascontiguousarray(rgb[..., ::-1]))
    return out


def _interleaved(fns: dict[str, Callable[[int], object]], n: int, rounds: int) -> dict[str, float]:
    """Median ms per call of each function, calls interleaved frame by frame.

    On a shared machine load comes and goes; interleaving puts every contender under the
    same load, so ratios hold even when absolute times wander.
    """
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(rounds):
        for i in range(n):
            for name, fn in fns.items():
                t0 = time.perf_counter()
                fn(i)
                times[name].append((time.perf_counter() - t0) * 1000)
    return {k: statistics.median(v) for k, v in times.items()}


def _ultralytics(
    pt: Path | None, onnx: Path, imgsz: int, conf: float, iou: float
) -> tuple[Callable[[np.ndarray], object] | None, str]:
    try:
        os.environ.setdefault("YOLO_OFFLINE", "1")
        from ultralytics import YOLO
    except ImportError as exc:
        return None, f"ultralytics not installed ({exc}); pip install 'fuhuiyang[train]'"
    weights, backend = (pt, "pytorch") if pt is not None and pt.exists() else (onnx, "onnx")
    model = YOLO(str(weights), task="detect")
    kw: dict[str, Any] = dict(imgsz=imgsz, conf=conf, iou=iou, device="cpu", verbose=False)

    def predict(frame: np.ndarray) -> object:
        return model.predict(frame, **kw)

    return predict, backend


def _bare_calls(
    det: OnnxDetector, frames: list[np.ndarray], tensors: list[np.ndarray]
) -> Callable[[int], object]:
    """The session calls alone, on inputs prepared up front: the detector's, and with a
    refiner its calls on the crops of that frame's proposals it does not trust the detector
    on, and on the mirrored doubtful ones."""
    from cloud.detect.refine import doubtful, mirror, trusted

    if det.refiner is None:
        return lambda i: det.raw(tensors[i])
    refiner = det.refiner
    proposals = det.detect(frames, conf=refiner.spec.proposal_conf, refine=False)
    asked = [p.select(~trusted(_scores(p), refiner.spec.trust)) for p in proposals]
    calls: list[list[tuple[np.ndarray, ...]]] = []
    for f, p in zip(frames, asked, strict=True):
        crops, hints = refiner.inputs(f, p)[1:]
        if not len(crops):
            calls.append([])
            continue
        again = doubtful(refiner.raw(crops, hints)[0], refiner.spec.second_look)
        calls.append([(crops, hints)])
        if again.any():
            calls[-1].append(mirror(crops[again], hints[again]))

    def sessions(i: int) -> None:
        det.raw(tensors[i])
        for inputs in calls[i]:
            refiner.raw(*inputs)

    return sessions


def _scores(proposals: Detections) -> np.ndarray:
    assert proposals.class_scores is not None  # the detector's own output always has them
    return proposals.class_scores


@click.command()
@click.option(
    "--model", "model_name", default=None, help="Registry name; default model if omitted."
)
@click.option(
    "--data",
    default=None,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Time frames of this YOLO folder instead of rendered ones.",
)
@click.option("--frames", "count", default=24, show_default=True, type=click.IntRange(1))
@click.option("--rounds", default=3, show_default=True, type=click.IntRange(1))
@click.option("--seed", default=7, show_default=True, type=int)
@click.option(
    "--threads", default=None, type=int, help="ONNX Runtime intra-op threads (default: all)."
)
@click.option(
    "--registry", default=None, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--json", "as_json", is_flag=True)
def detect(
    model_name: str | None,
    data: Path | None,
    count: int,
    rounds: int,
    seed: int,
    threads: int | None,
    registry: Path | None,
    as_json: bool,
) -> None:
    """Milliseconds per frame: our pipeline, the bare ONNX session, and ultralytics."""
    from cloud.detect.detector import OnnxDetector
    from cloud.detect.preprocess import letterbox, to_tensor
    from cloud.detect.registry import REGISTRY, load_entry

    entry = load_entry(model_name, registry or REGISTRY)
    frames = _frames(data, count, seed)
    det = OnnxDetector(entry, threads=threads, warmup=3)
    tensors = [to_tensor([letterbox(f, entry.input_size, det.stride)[0]]) for f in frames]
    raw = _bare_calls(det, frames, tensors)
    one = OnnxDetector(entry, threads=1, warmup=3)
    # Ultralytics runs the detector at the score ours runs it at: with a refiner, its proposals'.
    conf = det.refiner.spec.proposal_conf if det.refiner else min(entry.conf_vector())
    predict, ul_note = _ultralytics(
        entry.path.with_suffix(".pt"), entry.path, entry.input_size, conf, entry.iou
    )
    fns: dict[str, Callable[[int], object]] = {
        "raw": raw,
        "onnx": lambda i: det.detect([frames[i]]),
        "one_core": lambda i: one.detect([frames[i]]),
    }
    if entry.mirrored:  # ultralytics and the bare session look once: so does the comparison
        single = OnnxDetector(dataclasses.replace(entry, mirrored=False), threads=threads, warmup=3)
        fns["one_look"] = lambda i: single.detect([frames[i]])
    if det.refiner is not None:  # the first stage alone: the same work ultralytics does
        fns["detector"] = lambda i: det.detect([frames[i]], conf=conf, refine=False)
    if predict is not None:
        for f in frames[:2]:
            predict(f)  # its own warm-up
        fns["ultralytics"] = lambda i: predict(frames[i])
    ms = _interleaved(fns, len(frames), rounds)
    raw_ms, served_ms, one_core_ms = ms["raw"], ms["onnx"], ms["one_core"]
    onnx_ms = ms.get("one_look", served_ms)
    ul_ms = ms.get("ultralytics")
    result = {
        "model": entry.name,
        "input_size": entry.input_size,
        "frames": len(frames),
        "frame_size": list(frames[0].shape[1::-1]),
        "threads": threads or os.cpu_count(),
        "onnx_ms_per_frame": round(onnx_ms, 3),
        "raw_session_ms_per_frame": round(raw_ms, 3),
        "pipeline_overhead_ratio": round(onnx_ms / raw_ms, 3),
        "ultralytics_ms_per_frame": None if ul_ms is None else round(ul_ms, 3),
        "ultralytics_backend": ul_note if ul_ms is not None else None,
        "speedup_vs_ultralytics": None if ul_ms is None else round(ul_ms / onnx_ms, 3),
        "single_thread_ms_per_frame": round(one_core_ms, 3),
        "frames_per_s_per_core": round(1000.0 / one_core_ms, 2),
    }
    if entry.mirrored:  # served as two looks (cloud.detect.views); the figures above are one
        result["two_looks_ms_per_frame"] = round(served_ms, 3)
        result["second_look_cost_ratio"] = round(served_ms / onnx_ms, 3)
    if "detector" in ms:
        result["detector_only_ms_per_frame"] = round(ms["detector"], 3)
        if ul_ms is not None:
            result["detector_only_speedup_vs_ultralytics"] = round(ul_ms / ms["detector"], 3)
    if ul_ms is None:
        result["ultralytics_reason"] = ul_note
    click.echo(json.dumps(result) if as_json else json.dumps(result, indent=2))
