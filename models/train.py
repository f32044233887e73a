"""Train and export the dead-bird detector with ultralytics (the `train` extra, AGPL-3.0).

Imported only by the `models train` / `models export` commands; nothing at run time imports
this module. The machine may have no GPU and no internet: a model starts from its yaml (from
scratch) or from one of our own checkpoints, never downloaded weights; plots are off (they
fetch a font). Ultralytics' AMP check runs a downloaded model, so it is never run: AMP is off
unless asked for (`TrainSpec.amp`, for a GPU), and then taken as sound.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainSpec:
    data: Path  # data.yaml
    out: Path  # run directory
    model: str = "yolov8n.yaml"  # a yaml (from scratch) or a .pt to fine-tune
    epochs: int = 100
    hours: float | None = None  # wall-time budget; ultralytics fits its schedule to it
    imgsz: int = 416
    batch: int = 16
    workers: int = 2
    device: str = "cpu"
    seed: int = 0
    cache: bool = True
    amp: bool = False  # mixed precision: a GPU's training runs about twice as fast
    # Birds are 12-40 px at these input sizes: ultralytics' default +-50 % zoom shrinks them
    # past recognition, so zoom less.
    scale: float = 0.3
    # `dead` is a few percent of boxes; weigh the class loss up so it is not drowned out.
    cls_gain: float = 1.0
    warmup_epochs: float = 1.0
    freeze: int | None = None  # the first N layers stay as they are (YOLOv8's backbone: 10)
    close_mosaic: int = 3
    overrides: dict[str, Any] = field(default_factory=dict)  # more ultralytics arguments
    # time.monotonic() by which training stops, between two batches: ultralytics' own `time`
    # counts from after its setup (caching, model building), which a loaded machine makes long.
    stop_at: float | None = None


def _offline() -> None:
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_AUTOINSTALL", "False")


def _without_downloads_or_polars() -> None:
    """Ultralytics' trainer, made to run on a machine that can fetch nothing.

    Its AMP check downloads a model to compare against: we decide AMP ourselves. Each saved
    checkpoint reads results.csv with polars, which a GPU machine's own Python may lack (and
    that cannot be installed there): the csv module reads it the same.
    """
    from ultralytics.engine import trainer

    trainer.check_amp = lambda model: True  # only reached when TrainSpec.amp is set
    setattr(trainer.BaseTrainer, "read_results_csv", _read_results_csv)  # noqa: B010


def _stop_at(deadline: float) -> Any:
    def stop(trainer: Any) -> None:
        if time.monotonic() >= deadline:
            trainer.stop = True  # ultralytics ends the epoch there, validates and saves

    return stop


def _all_cores(trainer: Any) -> None:
    """ultralytics pins CPU training to cpu_count - 1 torch threads (one on our two cores) when
    it picks the device; with its data loading in the training thread on a CPU (workers 0),
    the other core then sits idle. Given back before the first batch."""
    import torch

    if trainer.device.type == "cpu":
        torch.set_num_threads(os.cpu_count() or 1)


def _read_results_csv(self: Any) -> dict[str, list[Any]]:
    try:
        rows = list(csv.DictReader(io.StringIO(self.csv.read_text())))
    except OSError:
        return {}
    return {key.strip(): [_number(r[key]) for r in rows] for key in (rows[0] if rows else {})}


def _number(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text


def train(spec: TrainSpec) -> Path:
    """Train; return the path of the best checkpoint."""
    _offline()
    from ultralytics import YOLO  # deferred: heavy, AGPL, train extra only

    _without_downloads_or_polars()

    model = YOLO(spec.model)
    model.add_callback("on_pretrain_routine_end", _all_cores)
    if spec.stop_at is not None:
        model.add_callback("on_train_batch_end", _stop_at(spec.stop_at))
    args: dict[str, Any] = dict(
        data=str(spec.data),
        epochs=spec.epochs,
        imgsz=spec.imgsz,
        batch=spec.batch,
        workers=spec.workers,
        device=spec.device,
        seed=spec.seed,
        deterministic=False,
        project=str(spec.out.parent.resolve()),
        name=spec.out.name,
        exist_ok=True,
        # A .pt starts from its weights (ultralytics ignores them unless told); a yaml is from scratch.
        pretrained=spec.model.endswith(".pt"),
        amp=spec.amp,
        plots=False,
        cache=spec.cache,
        verbose=True,
        # Domain randomisation is in the renderer; keep geometric aug modest, no flips upside down.
        fliplr=0.5,
        flipud=0.0,
        degrees=0.0,
        mosaic=1.0,
        close_mosaic=spec.close_mosaic,
        scale=spec.scale,
        cls=spec.cls_gain,
        warmup_epochs=spec.warmup_epochs,
        patience=0,
    )
    if spec.freeze:
        args["freeze"] = spec.freeze
    args.update(spec.overrides)
    if spec.hours:
        args["time"] = spec.hours
    log.info("training %s on %s: %s", spec.model, spec.data, args)
    model.train(**args)
    best = spec.out / "weights" / "best.pt"
    return best if best.exists() else spec.out / "weights" / "last.pt"


def export_onnx(weights: Path, imgsz: int, out: Path) -> Path:
    """Export a checkpoint to ONNX, no NMS inside.

    Batch, height and width are dynamic: a 16:9 camera frame letterboxes to 320x192 rather
    than 320x320, 40 % less compute for the same boxes.
    """
    _offline()
    from ultralytics import YOLO

    model = YOLO(str(weights))
    produced = Path(
        model.export(
            format="onnx",
            imgsz=imgsz,
            opset=17,
            simplify=True,
            dynamic=True,
            nms=False,
            half=False,
        )
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    produced.replace(out)
    return out


def class_names(weights: Path) -> list[str]:
    _offline()
    from ultralytics import YOLO

    names = YOLO(str(weights)).names
    return [names[i] for i in sorted(names)]
