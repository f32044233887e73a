"""`fuhuiyang models adapt`: a farm's or camera's own detector from a handful of labelled frames.

Two starts (`--start auto` picks the one that already sees the farm's labelled birds better,
its chicken AP50 on them before training: photographs take the first, renders the second):

- NanoDet-m trained on COCO photographs (`models.nanodet`): it has seen real birds, which our
  renders-only models have not (henhouse, 10 frames: docs/results.md, issue 18). It learns
  `chicken` from the labelled frames and copy-paste frames made from them, and `dead` where the
  farm labelled enough carcasses (REPLAY_BELOW); otherwise `dead` is served from the base model
  (`cloud.detect.dead_from`), so the camera keeps the carcass finding it had.
- The registered base model's checkpoint, fine-tuned under a wall-time budget on the CPU:

1. the labelled frames, plus copy-paste frames made from them (`models.copy_paste`: the farm's
   own birds and carcasses on its own frames at new places and scales; with (almost) no
   labelled carcass, a few frames with a rendered one, `models.carcass_replay`, so that `dead`
   is not forgotten);
2. ultralytics' strong augmentation (mosaic, HSV, scale, translation, flips), every layer
   trained: the base's backbone never saw a photograph, and on real henhouse frames training it
   too beat freezing it at equal wall time (docs/results.md, issue 18);
3. with `--unlabelled`, a second round: the first round's model labels those frames where it is
   sure (pseudo-labels) and training continues on all of them;
4. the result is exported to ONNX; after replay, the dead check (`models.dead_check`) sets its
   `dead` threshold, or keeps the base's `dead` for the camera when the adapted model finds
   fewer carcasses than the base did;
5. it is registered in the deployment's models directory, with its scope (farm, camera), for
   `models eval --model NAME` and the detection worker.

Needs the `train` extra (torch, ultralytics); `require_training()` says so in one line.
"""

from __future__ import annotations

import importlib.util
import logging
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any, cast

import cv2
import numpy as np
import yaml

from cloud.detect import (
    NEVER_TRUSTED,
    REGISTRY,
    Detections,
    ModelEntry,
    OnnxDetector,
    RegistryError,
    Sessions,
    load_registered,
    served_detector,
    sha256_file,
)
from models.carcass_replay import REPLAY_BELOW, needs_replay, replay_frames
from models.copy_paste import Labelled, at_most, load_farm, native_crops, synthesise
from models.dead_check import FLOOR, DeadCheck, ProbeScores, check_dead, probe_frames, score_probe
from models.evaluate import IMAGE_EXT, DataSetError, read_as
from models.register import shipped_names
from models.yolo_folder import CLASSES, class_counts, write_example

log = logging.getLogger(__name__)

NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
ADAPTED_CONF = 0.25  # served threshold per class (ultralytics' own default): not tuned on a test set;
# `dead` may be served lower when learnt from rendered carcasses (`models.dead_check`)
MIN_BIRD_PX = 24  # auto input size: the 10th-percentile labelled box keeps this short side
# ...and never under this: henhouse (real, close birds) from 10 frames, 15 minutes alone, gave
# AP50 0.825-0.827 in two runs at 480 px against 0.754-0.798 in five at 320 (docs/results.md).
MIN_INPUT = 480
PSEUDO_CONF = 0.6  # a pseudo-label is a box the first round's model is this sure of
RESERVE_S = 90.0  # of the budget, kept for export, registration and the process start
# Above this input size training runs on crops at the served scale: on two cores a 1280 px
# model otherwise gets ~3 epochs in 15 minutes (cctv renders: no gain on `dead`, docs/results.md).
CROP_SIDE = 640
FIRST_ROUND_SHARE = 0.6  # with unlabelled frames: the share of training time before pseudo-labelling
STARTS = ("auto", "coco", "base")
COCO_START = "nanodet-m-coco"  # `adapted.start` of a model made from models/weights/nanodet-m-coco
COCO_INPUT = 416  # NanoDet-m's own input size, the least the COCO start is served at
COCO_LARGEST = 640  # ...and the most: its training steps cost as the square of the size
# Copy-paste frames beside the farm's own for the COCO start: henhouse from 10 frames, recall at
# P >= 0.9 median 0.907 in six runs against 0.893 in nine without (docs/results.md, issue 18).
COCO_PASTED = 60
# The COCO start trains further networks from other seeds while the budget allows, this far apart
# along the seeds, up to MAX_NETWORKS (a power of two: their looks are fused in pairs). Networks
# from different seeds err on different birds; their looks fused lift recall at high precision
# (henhouse from 10 frames: docs/results.md "Two networks", "Four networks").
NETWORK_SEEDS = 1000
MAX_NETWORKS = 4
# Where the time left does not hold another pair at the first network's pace (a busy machine),
# the pair still trains, each network with its share of the time left (fewer steps, its learning
# rate annealed over them), if that share is at least this much of the first network's time;
# before, the rest of the budget went unused (docs/results.md, "2026-12-07 (morning)").
SHORTEST_NETWORK = 0.5


# Told each stage an adaptation reaches: {"stage": "training", "network": k, "networks_most": n},
# "pseudo_labelling", "checking_dead", "exporting" (the adapt worker shows them in the console).
Progress = Callable[[dict[str, Any]], None]


def _unreported(_: dict[str, Any]) -> None:
    pass


class AdaptError(RuntimeError):
    """Adaptation cannot run: a clear sentence for the user."""


@dataclass(frozen=True)
class Scope:
    """Where an adapted model is served, the registry's `scope` key (the detection worker picks
    a camera's model by it, `cloud.detect.scoped`): one farm (its id, text as the farms table
    has it), one camera (`<gateway_id>/<camera_id>` as the frames table names it), or both;
    None for either means any."""

    farm_id: str | None = None
    camera: str | None = None

    def to_json(self) -> dict[str, str | None]:
        return {"farm_id": self.farm_id, "camera": self.camera}


@dataclass(frozen=True)
class AdaptSpec:
    data: Path  # YOLO folder of the farm's labelled frames
    name: str
    models_dir: Path
    base: str | None = None  # registry name; the default model when None
    unlabelled: Path | None = None  # frames of the same camera without labels
    minutes: float = 15.0
    scope: Scope | None = None
    imgsz: int | None = None  # None: from the labelled boxes' sizes (`auto_imgsz`)
    synthetic: int = 120  # copy-paste frames
    freeze: int = 0  # layers kept as they are (YOLOv8's backbone is the first 10)
    batch: int = 4  # a few labelled frames: more steps count more than bigger batches
    steps: int | None = None  # the COCO start's training steps per network; None: nanodet.FineTune's
    seed: int = 0
    replay: bool = True  # rendered carcasses where the set has (almost) none
    mirrored: bool = True  # served looking at each frame as is and mirrored (`cloud.detect.views`)
    device: str = "auto"  # "auto": the first CUDA GPU torch sees, else the CPU; or "cpu", "0", ...
    start: str = "auto"  # "coco" (NanoDet-m, chicken only), "base" (the base's checkpoint), "auto"


def require_training() -> None:
    """One line naming the extra, where torch or ultralytics is missing."""
    missing = [m for m in ("torch", "ultralytics") if importlib.util.find_spec(m) is None]
    if missing:
        raise AdaptError(
            f"models adapt needs the train extra ({', '.join(missing)} not installed): "
            "pip install torch==2.14.1 torchvision==0.29.1 && pip install -e '.[train]'")


def check_spec(spec: AdaptSpec, registry: Path = REGISTRY) -> ModelEntry:
    """The base model, once the spec is known to be usable: name, base, data."""
    if not NAME.match(spec.name):
        raise AdaptError(f"model name {spec.name!r}: use a-z, 0-9, '.', '_', '-' (at most 64)")
    if spec.name in shipped_names(registry):
        raise AdaptError(f"{spec.name!r} is a shipped model; choose another name")
    if spec.start not in STARTS:
        raise AdaptError(f"--start {spec.start}: use one of {', '.join(STARTS)}")
    try:
        base = load_registered(spec.base, spec.models_dir, registry, verify=False)
    except RegistryError as exc:
        raise AdaptError(str(exc)) from None
    if spec.start == "base":
        need_checkpoint(base)
    if base.extra.get("refiner"):
        raise AdaptError(f"base model {base.name} is two-stage; adapt a one-stage model")
    if spec.name == base.name:
        raise AdaptError("the adapted model needs a name of its own")
    return base


def need_checkpoint(base: ModelEntry) -> None:
    if not base.path.with_suffix(".pt").exists():
        raise AdaptError(f"base model {base.name} has no checkpoint {base.path.with_suffix('.pt').name} "
                         "to fine-tune; --start coco needs none")


def chosen_start(asked: str, frames: Sequence[Labelled], fit: Callable[[str], float],
                 ) -> tuple[str, dict[str, float]]:
    """`asked`, or for `auto` the start that already sees the farm's labelled birds better (`fit`:
    its chicken AP50 on them before any training): photographs favour NanoDet-m from COCO
    (henhouse's ten frames 0.29 against the renders-only base's 0.02), renders the base
    (held-out `cctv` renders 0.17 against 0.59). Where no chicken is
    labelled the COCO start learns `dead` alone badly, so the base. Returns the fits too."""
    if asked != "auto":
        return asked, {}
    if not class_counts(f.classes for f in frames)["chicken"]:
        return "base", {}
    fits = {start: round(fit(start), 3) for start in ("coco", "base")}
    return ("coco" if fits["coco"] > fits["base"] else "base"), fits


def auto_imgsz(frames: Sequence[Labelled], largest: int, least: int = MIN_INPUT) -> int:
    """The smallest input size (a multiple of 32, `least` at least, `largest` at most) at which the
    10th-percentile labelled bird keeps a short side of MIN_BIRD_PX: CPU time goes as its square,
    and a camera close to its birds needs far less than the 1280 px of the default model."""
    ratios = [min(x2 - x1, y2 - y1) / max(f.image.shape[:2])
              for f in frames for x1, y1, x2, y2 in f.boxes.tolist()]
    if not ratios:
        return largest
    size = MIN_BIRD_PX / max(float(np.percentile(ratios, 10)), 1e-6)
    return int(min(largest, max(least, int(np.ceil(size / 32)) * 32)))


def unlabelled_images(folder: Path, skip: set[str]) -> list[Path]:
    """Images of `folder` (or its `images/`), except those named in `skip` (labelled ones)."""
    root = folder / "images" if (folder / "images").is_dir() else folder
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_EXT and p.stem not in skip)


def pseudo_label(paths: Sequence[Path], detect: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
                 ) -> list[Labelled]:
    """The frames with the boxes a model is sure of. A frame where it is sure of nothing is left
    out, not taken as background: a coop camera's frame nearly always shows birds, and teaching
    the ones the model missed as background cost the henhouse test 0.17 AP50 (docs/results.md)."""
    out = []
    for p in paths:
        image = cv2.imread(str(p), cv2.IMREAD_COLOR)
        if image is None:
            log.warning("skipping unreadable unlabelled frame %s", p)
            continue
        frame = at_most(Labelled(f"pseudo-{p.stem}", image, np.zeros(0, np.int64), np.zeros((0, 4))))
        classes, boxes = detect(frame.image)
        if len(classes):
            out.append(Labelled(frame.name, frame.image, classes, boxes))
    return out


def write_training_set(work: Path, labelled: Sequence[Labelled], extra: Sequence[Labelled],
                       synthetic: int, seed: int, imgsz: int,
                       replayed: Sequence[Labelled] = ()) -> tuple[Path, int]:
    """work/train (labelled + copy-paste + extra + replayed), work/val (labelled); returns
    data.yaml and the size to train at. Above CROP_SIDE the frames are cut into crops at the
    served scale (`native_crops`), trained at CROP_SIDE."""
    if work.exists():
        shutil.rmtree(work)
    train = [*labelled, *synthesise([*labelled, *extra], synthetic, seed), *extra, *replayed]
    val = list(labelled or extra)
    size = imgsz
    if imgsz > CROP_SIDE:
        train = native_crops(train, imgsz, CROP_SIDE, seed)
        val = native_crops(val, imgsz, CROP_SIDE, seed + 1)
        size = CROP_SIDE
    for f in train:
        write_example(work / "train", f.name, f.image, f.classes, f.boxes, ".jpg")
    for f in val:
        write_example(work / "val", f.name, f.image, f.classes, f.boxes, ".jpg")
    doc = {"path": str(work.resolve()), "train": "train/images", "val": "val/images",
           "names": dict(enumerate(CLASSES))}
    (work / "data.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return work / "data.yaml", size


def training_device(asked: str) -> str:
    """The device to train on: a GPU only makes the same budget go further."""
    import torch

    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if asked == "auto":
        return "0" if gpus else "cpu"
    if asked == "cpu" or (asked.isdigit() and int(asked) < gpus):
        return asked
    if not gpus:
        raise AdaptError(f"--device {asked}: this machine has no GPU torch can use; use auto or cpu")
    indexes = "0" if gpus == 1 else f"0-{gpus - 1}"
    raise AdaptError(f"--device {asked}: use auto, cpu or a GPU's index ({indexes} here)")


def _ultralytics_to_stderr() -> None:
    """Ultralytics logs to stdout; `--json` owns stdout."""
    from ultralytics.utils import LOGGER

    for handler in LOGGER.handlers:
        # its own console handler only: a capturing one (a test harness's, a subclass) keeps its stream
        if type(handler) is logging.StreamHandler:
            handler.setStream(sys.stderr)


def _train(data_yaml: Path, start: Path, out: Path, spec: AdaptSpec, imgsz: int,
           deadline: float, device: str) -> Path:
    """Train until `deadline` (time.monotonic()); ultralytics fits its schedule to the time left."""
    from models.train import TrainSpec, train

    _ultralytics_to_stderr()
    seconds = max(deadline - time.monotonic(), 30.0)
    return train(TrainSpec(
        data=data_yaml, out=out, model=str(start), epochs=1000, hours=seconds / 3600,
        stop_at=time.monotonic() + seconds,
        imgsz=imgsz, batch=spec.batch, workers=1, seed=spec.seed, cache=True, device=device,
        scale=0.5, warmup_epochs=0.5, freeze=spec.freeze, close_mosaic=2,
        overrides={"hsv_h": 0.02, "hsv_s": 0.7, "hsv_v": 0.5, "translate": 0.2, "degrees": 5.0,
                   "lr0": 0.004, "lrf": 0.1, "optimizer": "AdamW", "val": True,
                   "warmup_bias_lr": 0.0},
    ))


def adapt(spec: AdaptSpec, registry: Path = REGISTRY, report: Progress = _unreported) -> dict[str, Any]:
    """Fine-tune, export, register; returns the registry entry with `model` (its name). `report`
    is told each stage as it starts."""
    started = time.monotonic()
    budget = spec.minutes * 60.0
    require_training()
    base = check_spec(spec, registry)
    try:
        labelled, left_out = load_farm(spec.data)
    except DataSetError as exc:
        raise AdaptError(str(exc)) from None
    labelled = [at_most(f) for f in labelled]
    boxes = sum(len(f.classes) for f in labelled)
    unlabelled = unlabelled_images(spec.unlabelled, {f.name for f in labelled}) if spec.unlabelled else []
    if boxes == 0 and not unlabelled:
        raise AdaptError(f"{spec.data} has no labelled chicken or dead bird and there are no "
                         "unlabelled frames to pseudo-label")
    start, fits = chosen_start(spec.start, labelled, partial(_start_fit, base, labelled, spec))
    from_coco = start == "coco"
    if fits:
        log.info("chicken AP50 on the labelled frames before training: %s; starting from %s",
                 ", ".join(f"{k} {v:.3f}" for k, v in fits.items()), start)
    if not from_coco:
        need_checkpoint(base)
    elif boxes:
        _check_coco_labels(labelled, spec.data)
    imgsz = _coco_imgsz(spec, labelled) if from_coco else spec.imgsz or auto_imgsz(labelled, base.input_size)
    device = training_device(spec.device)
    log.info("adapting %s on %d frames (%d boxes) at %d px on %s", COCO_START if from_coco else base.name,
             len(labelled), boxes, imgsz, "the CPU" if device == "cpu" else f"GPU {device}")
    spec.models_dir.mkdir(parents=True, exist_ok=True)
    pseudo: list[Labelled] = []
    if boxes == 0:  # only unlabelled frames: the base model's sure boxes are all there is
        pseudo = pseudo_label(unlabelled, _onnx_labeller(base))
        unlabelled = []
        if not pseudo:
            raise AdaptError(f"{spec.data} has no labelled bird, and {base.name} is sure of none in the "
                             f"{spec.unlabelled} frames: label a few")
    deadline = started + budget - RESERVE_S
    if from_coco:
        target, pseudo, trained = _from_coco(spec, base, labelled, pseudo, unlabelled, imgsz, deadline, device,
                                             report)
        check = None
    else:
        target, pseudo, trained, check = _from_base(spec, base, labelled, pseudo, unlabelled, imgsz, deadline,
                                                    device, registry, report)
    raw = _register(spec, base, target, imgsz, check, registry, {
        "start": COCO_START if from_coco else base.name, "start_fit": fits,
        "data": str(spec.data.resolve()), "frames": len(labelled), "boxes": boxes,
        "read_as": read_as(spec.data), "left_out": left_out, "unlabelled": len(pseudo),
        "pseudo_boxes": sum(len(f.classes) for f in pseudo), **trained, "device": device,
        **({"dead_check": check.to_json()} if check else {}),
        "minutes": spec.minutes, "seconds": round(time.monotonic() - started, 1),
        "date": date.today().isoformat(),
    })
    return {"model": spec.name, **raw}


def _start_fit(base: ModelEntry, labelled: Sequence[Labelled], spec: AdaptSpec, start: str) -> float:
    """Chicken AP50, one look, on the labelled frames of a start as it is: the base as served,
    or NanoDet-m's COCO `bird` at the size the COCO start would train at. A base without a
    checkpoint cannot be fine-tuned: -1."""
    if start == "base":
        if not base.path.with_suffix(".pt").exists():
            return -1.0
        return _chicken_ap50(replace(base, mirrored=False), labelled)
    from models import nanodet

    size = _coco_imgsz(spec, labelled)
    with tempfile.TemporaryDirectory() as tmp:
        onnx = nanodet.export_onnx([nanodet.NanoDet()], size, base.classes, (CLASSES.index("chicken"),),
                                   Path(tmp) / "coco.onnx")
        return _chicken_ap50(_entry_for(onnx, base, size, mirrored=False), labelled)


def _coco_imgsz(spec: AdaptSpec, labelled: Sequence[Labelled]) -> int:
    """The COCO start's input size: the one it is judged at by `auto` is the one it trains at."""
    return spec.imgsz or auto_imgsz(labelled, COCO_LARGEST, COCO_INPUT)


def _chicken_ap50(entry: ModelEntry, frames: Sequence[Labelled]) -> float:
    from models.evaluate import SCORE_FLOOR, evaluate

    detector = OnnxDetector(entry, threads=2)
    pairs = ((detector.detect([f.image], conf=SCORE_FLOOR)[0], f.classes, f.boxes) for f in frames)
    result = evaluate(pairs, list(CLASSES), list(entry.classes), entry.conf)
    return float(cast(dict[str, dict[str, float]], result["classes"])["chicken"]["map50"])


def _check_coco_labels(labelled: Sequence[Labelled], data: Path) -> None:
    """The COCO start needs chickens; it learns `dead` from enough labelled carcasses only."""
    counts = class_counts(f.classes for f in labelled)
    chickens, carcasses = counts["chicken"], counts["dead"]
    if not chickens:
        raise AdaptError(f"{data} labels no chicken, and --start coco needs them; use --start base")
    if carcasses and needs_replay(labelled):
        log.warning("--start coco learns `dead` from %d labelled carcasses at least: the %d labelled are "
                    "left out (`dead` comes from the base)", REPLAY_BELOW, carcasses)


def _from_coco(spec: AdaptSpec, base: ModelEntry, labelled: list[Labelled], pseudo: list[Labelled],
               unlabelled: list[Path], imgsz: int, deadline: float, device: str, report: Progress,
               ) -> tuple[Path, list[Labelled], dict[str, Any]]:
    """NanoDet-m fine-tuned on the farm's chickens (and carcasses, where it labelled enough) and
    copy-paste frames made from them (first on the labelled frames, then with the unlabelled ones
    its ONNX, served as the base path's first round is, is sure of); then, while the budget
    allows (`more_networks`), as many networks again from other seeds on the same frames, each
    within its share of the time left. Their exported ONNX (one file), the pseudo-labelled
    frames, how they trained."""
    import torch

    from models import nanodet

    model = nanodet.NanoDet()
    on = torch.device("cpu" if device == "cpu" else f"cuda:{device}")
    chicken, dead = CLASSES.index("chicken"), CLASSES.index("dead")
    learnt = (chicken,) if needs_replay(labelled) else (chicken, dead)
    plan = nanodet.FineTune(batch=spec.batch, seed=spec.seed)
    if spec.steps:
        plan = replace(plan, steps=spec.steps)
    steps = 0
    training = 0.0  # seconds the first network's steps took
    report({"stage": "training", "network": 1, "networks_most": MAX_NETWORKS})
    if unlabelled:
        first = replace(plan, steps=int(plan.steps * FIRST_ROUND_SHARE))
        now = time.monotonic()
        pasted = synthesise(labelled, COCO_PASTED, plan.seed)
        steps = nanodet.fine_tune(model, [*labelled, *pasted], learnt, imgsz, first,
                                  now + (deadline - now) * FIRST_ROUND_SHARE, on)
        training = time.monotonic() - now
        work = spec.models_dir / f".{spec.name}.work"
        work.mkdir(parents=True, exist_ok=True)
        first_onnx = nanodet.export_onnx([model], imgsz, base.classes, learnt, work / "r1.onnx")
        report({"stage": "pseudo_labelling"})
        pseudo = _first_round_labels(first_onnx, base, imgsz, spec, unlabelled)
        shutil.rmtree(work, ignore_errors=True)
        report({"stage": "training", "network": 1, "networks_most": MAX_NETWORKS})
    frames = [*labelled, *pseudo]
    now = time.monotonic()
    pasted = synthesise(frames, COCO_PASTED, plan.seed + 1)
    steps += nanodet.fine_tune(model, [*frames, *pasted], learnt, imgsz,
                               replace(plan, steps=plan.steps - steps, seed=plan.seed + 1), deadline, on)
    training += time.monotonic() - now
    networks = [model]
    network_steps = [steps]
    while more_networks(len(networks), training, deadline - time.monotonic()):
        pair = len(networks)  # as many again: the looks are fused in pairs
        for k in range(pair):
            again = plan.seed + NETWORK_SEEDS * len(networks)
            report({"stage": "training", "network": len(networks) + 1, "networks_most": MAX_NETWORKS})
            net = nanodet.NanoDet()
            now = time.monotonic()
            share_ends = now + (deadline - now) / (pair - k)  # binds only where the pace is short of the plan
            network_steps.append(nanodet.fine_tune(net, [*frames, *synthesise(frames, COCO_PASTED, again)], learnt,
                                                   imgsz, replace(plan, seed=again), share_ends, on))
            networks.append(net)
    steps = sum(network_steps)
    if len(networks) < MAX_NETWORKS:
        log.info("time for %d network(s) of %d (the first took %.0f s): the busier the machine, the fewer",
                 len(networks), MAX_NETWORKS, training)
    report({"stage": "exporting"})
    target = nanodet.export_onnx(networks, imgsz, base.classes, learnt, spec.models_dir / f"{spec.name}.onnx")
    return target, pseudo, {"rounds": 2 if unlabelled else 1, "steps": steps, "network_steps": network_steps,
                            "networks": len(networks),
                            "networks_most": MAX_NETWORKS, "first_network_s": round(training),
                            "pasted": COCO_PASTED, "learnt": [CLASSES[c] for c in learnt], "batch": plan.batch,
                            "replay_frames": 0, "frozen": 0}


def more_networks(have: int, took: float, left: float) -> bool:
    """Whether to train as many networks again as the `have` trained: under MAX_NETWORKS, and
    `left` seconds give each at least SHORTEST_NETWORK of the `took` seconds the first needed."""
    return have < MAX_NETWORKS and left >= SHORTEST_NETWORK * took * have


def _from_base(spec: AdaptSpec, base: ModelEntry, labelled: list[Labelled], pseudo: list[Labelled],
               unlabelled: list[Path], imgsz: int, deadline: float, device: str, registry: Path,
               report: Progress) -> tuple[Path, list[Labelled], dict[str, Any], DeadCheck | None]:
    """The base's checkpoint fine-tuned by ultralytics (both classes, copy-paste, replayed
    carcasses, a pseudo-label round); its ONNX, the pseudo-labelled frames, how it trained, and
    the dead check where carcasses were replayed."""
    work = spec.models_dir / f".{spec.name}.work"
    start = base.path.with_suffix(".pt")
    rounds = 0
    replayed = replay_frames([*labelled, *pseudo], spec.seed) if spec.replay and needs_replay(labelled) else []
    training = {"stage": "training", "network": 1, "networks_most": 1}
    report(training)
    if unlabelled:
        data_yaml, size = write_training_set(work / "r1", labelled, [], spec.synthetic, spec.seed, imgsz,
                                             replayed)
        now = time.monotonic()
        best = _train(data_yaml, start, work / "r1-run", spec, size,
                      now + (deadline - now) * FIRST_ROUND_SHARE, device)
        rounds += 1
        from models.train import export_onnx

        first = export_onnx(best, imgsz, work / "r1.onnx")
        report({"stage": "pseudo_labelling"})
        pseudo = _first_round_labels(first, base, imgsz, spec, unlabelled)
        start = best
        report(training)
    data_yaml, size = write_training_set(work / "r2", labelled, pseudo, spec.synthetic, spec.seed + 1,
                                         imgsz, replayed)
    best = _train(data_yaml, start, work / "r2-run", spec, size, deadline, device)
    rounds += 1
    report({"stage": "exporting"})
    target = _export(spec, best, imgsz)
    check = None
    if replayed:
        report({"stage": "checking_dead"})
        lookup = partial(load_registered, models_dir=spec.models_dir, registry=registry)
        check = _check_dead(_entry_for(target, base, imgsz, spec.mirrored), base, lookup, [*labelled, *pseudo],
                            spec.seed)
    shutil.rmtree(work, ignore_errors=True)
    return target, pseudo, {"rounds": rounds, "learnt": list(base.classes), "networks": 1,
                            "replay_frames": len(replayed), "frozen": spec.freeze}, check


def _first_round_labels(first: Path, base: ModelEntry, imgsz: int, spec: AdaptSpec,
                        unlabelled: Sequence[Path]) -> list[Labelled]:
    """The unlabelled frames where the first round's ONNX, served as the farm model will be, is sure."""
    return pseudo_label(unlabelled, _onnx_labeller(_entry_for(first, base, imgsz, spec.mirrored)))


def _entry_for(onnx: Path, base: ModelEntry, imgsz: int, mirrored: bool) -> ModelEntry:
    return ModelEntry(name=onnx.stem, path=onnx.resolve(), sha256=sha256_file(onnx), input_size=imgsz,
                      classes=base.classes, conf=dict.fromkeys(base.classes, PSEUDO_CONF), iou=base.iou,
                      mirrored=mirrored)


def _onnx_labeller(entry: ModelEntry) -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]:
    detector = OnnxDetector(entry, threads=2)
    thresholds = [max(PSEUDO_CONF, t) for t in entry.conf_vector()]
    ours = [CLASSES.index(c) if c in CLASSES else -1 for c in entry.classes]

    def label(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        det = detector.detect([image], conf=thresholds)[0]
        cls = np.array([ours[int(c)] for c in det.classes], np.int64)
        keep = cls >= 0
        return cls[keep], det.boxes[keep].astype(np.float64)

    return label


def _check_dead(own: ModelEntry, base: ModelEntry, lookup: Callable[[str], ModelEntry],
                frames: Sequence[Labelled], seed: int) -> DeadCheck:
    """The adapted model's `dead` threshold, and whether it still finds as many of the probe's
    carcasses as the base model, as served, did on this camera (`models.dead_check`)."""
    probe = probe_frames(frames, seed)
    sessions = Sessions(lookup, threads=2)
    own_scores, base_scores = (_probe_scores(entry, sessions, probe) for entry in (own, base))
    check = check_dead(own_scores, base_scores, base.track_vector()[base.classes.index("dead")], ADAPTED_CONF)
    log.info("dead: %d of %d probe carcasses found by the adapted model at %.4f, %d by %s at %.4f; "
             "served by %s", check.own_found, check.carcasses, check.threshold, check.base_found, base.name,
             check.base_threshold, "the base" if check.keeps_base else "the adapted model")
    return check


def _probe_scores(entry: ModelEntry, sessions: Sessions, probe: Sequence[Labelled]) -> ProbeScores:
    detector = served_detector(entry, sessions)
    floor = [FLOOR if c == "dead" else NEVER_TRUSTED for c in entry.classes]  # only `dead` boxes matter

    def detect(images: list[np.ndarray]) -> list[Detections]:
        return detector.detect(images, conf=floor)

    return score_probe(detect, entry.classes.index("dead"), probe)


def _export(spec: AdaptSpec, best: Path, imgsz: int) -> Path:
    from models.train import export_onnx

    target = spec.models_dir / f"{spec.name}.onnx"
    export_onnx(best, imgsz, target)
    shutil.copyfile(best, target.with_suffix(".pt"))  # the next adaptation starts from it
    return target


def _register(spec: AdaptSpec, base: ModelEntry, target: Path, imgsz: int, check: DeadCheck | None,
              registry: Path, adapted: dict[str, Any]) -> dict[str, Any]:
    from models.register import register_local

    layers = f"first {adapted['frozen']} layers frozen" if adapted["frozen"] else "all layers trained"
    conf = dict.fromkeys(base.classes, ADAPTED_CONF)
    dead: dict[str, Any] = {}
    from_coco = adapted["start"] == COCO_START
    # the base's `dead` (cloud.detect.DeadFromBase) where none was learnt, or the dead check kept it
    if "dead" not in adapted["learnt"] or (check is not None and check.keeps_base):
        at = base.classes.index("dead")
        conf["dead"] = base.conf_vector()[at]
        dead = {"dead_from": base.extra.get("dead_from", base.name),
                "track_conf": {"dead": check.base_threshold if check else base.track_vector()[at]}}
    elif check is not None:
        conf["dead"] = check.threshold
    if from_coco:
        how = (f"{adapted['start']} (COCO photographs, `bird`) adapted by `models adapt` to "
               f"{' and '.join(f'`{c}`' for c in adapted['learnt'])}: "
               f"{adapted['frames']} labelled frames, {adapted['unlabelled']} pseudo-labelled, "
               f"{adapted['pasted']} copy-paste frames, {adapted['steps']} steps, all layers trained"
               + (f", {adapted['networks']} networks from different seeds" if adapted["networks"] > 1 else "")
               + (f"; `dead` from {dead['dead_from']}" if dead else ""))
    else:
        how = (f"{base.name} adapted by `models adapt`: {adapted['frames']} labelled frames, "
               f"{spec.synthetic} copy-paste frames, {adapted['replay_frames']} with a rendered carcass, "
               f"{adapted['unlabelled']} pseudo-labelled, {layers}")

    raw: dict[str, Any] = {
        "file": target.name,
        "sha256": sha256_file(target),
        "bytes": target.stat().st_size,
        "input_size": imgsz,
        "classes": list(base.classes),
        "conf": conf,
        "iou": base.iou,
        "mirrored": spec.mirrored,
        "networks": adapted["networks"],
        "source": f"{how}, {imgsz} px" + (", served with a mirrored second look" if spec.mirrored else "")
                  + (" by each network" if spec.mirrored and adapted["networks"] > 1 else ""),
        "base": base.name,
        **dead,
        "adapted": adapted,
        "scope": (spec.scope or Scope()).to_json(),
    }
    try:
        register_local(spec.name, raw, spec.models_dir, registry)
    except RegistryError as exc:
        raise AdaptError(str(exc)) from None
    return raw
