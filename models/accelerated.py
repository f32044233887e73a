"""One prepared training run for a short GPU lease: render, train, keep the checkpoints.

    PYTHONPATH=/tmp/site python3 -m models.accelerated --out "$OUT" --minutes 9.1 --device 0

A lease is minutes long and counted from the machine's start, so the run is sized by the
clock, not by counts: it renders the validation set, measures how fast this machine renders,
renders as many training images as fit the rendering share of the budget, and trains for what
is left (ultralytics fits its learning-rate schedule to a time budget). A thread copies the
latest checkpoints to `--out` as they appear, so a run cut short still returns its weights.

It needs only numpy, OpenCV, PyYAML, torch and ultralytics (a GPU machine's Python has the
first four; carry ultralytics as a wheel: docs/detector.md, "On a GPU lease"). Export,
evaluation and registration happen where the project is installed: `fuhuiyang models export`
and `models eval`.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from firmware_sim.camera.dataset import write_dataset
from models.train import TrainSpec, train

log = logging.getLogger(__name__)
SETUP_S = 45.0  # model build, label scan and image cache before ultralytics' clock starts
FINISH_S = 30.0  # final validation of the best checkpoint and the last copies
KEPT = ("weights/best.pt", "weights/last.pt", "results.csv", "args.yaml")


@dataclass(frozen=True)
class Rendered:
    val: int
    train: int
    render_s_per_image: float


def render_sets(
    data: Path,
    until: float,
    *,
    val: int,
    workers: int,
    extra_dead: int,
    seed: int = 1,
    styles: Sequence[str] = ("classic",),
    clock: Callable[[], float] = time.monotonic,
) -> Rendered:
    """Validation (seed 2), then training images (`seed`) until the clock reads `until`, in
    equal shares of each render style; the k-th style's seeds are 1000 k higher, so its files
    (named by seed) sit beside the others' in the same folders."""
    start = clock()
    for k, style in enumerate(styles):
        share = val // len(styles) + (k < val % len(styles))
        write_dataset(data / "val", share, seed=2 + 1000 * k, workers=workers, style=style)
    per_image = (clock() - start) / val
    train_count = max(int((until - clock()) / per_image), workers * len(styles))
    for k, style in enumerate(styles):
        write_dataset(data / "train", train_count // len(styles), seed=seed + 1000 * k,
                      workers=workers, extra_dead=extra_dead, style=style)
    (data / "data.yaml").write_text(
        f"path: {data.resolve()}\ntrain: train/images\nval: val/images\n"
        "names: {0: chicken, 1: dead}\n"
    )
    return Rendered(val, train_count // len(styles) * len(styles), round(per_image, 4))


def default_checkpoint() -> Path:
    """The registry's default model's checkpoint: the `.pt` beside its ONNX file."""
    from cloud.detect import load_entry

    return load_entry(verify=False).path.with_suffix(".pt")


def keep_copying(run: Path, out: Path, stop: threading.Event, every_s: float = 15.0) -> None:
    """Copy the run's checkpoints (without optimizer state: a lease returns files up to
    16 MB) and results to `out` whenever they change, and once more at the end."""
    seen: dict[str, float] = {}
    while True:
        last = stop.wait(every_s)
        for rel in KEPT:
            src, dst = run / rel, out / Path(rel).name
            mtime = src.stat().st_mtime if src.exists() else None
            if mtime is None or seen.get(rel) == mtime:
                continue
            try:
                if src.suffix != ".pt":
                    shutil.copyfile(src, dst)
                elif not _stripped_copy(src, dst):  # half written: the next pass takes it
                    continue
            except Exception as exc:  # likewise
                log.warning("could not copy %s yet: %s", src, exc)
                continue
            seen[rel] = mtime
        if last:
            return


def _stripped_copy(src: Path, dst: Path) -> bool:
    from ultralytics.utils.torch_utils import strip_optimizer  # train extra

    return bool(strip_optimizer(src, str(dst)))  # {} when the file is not a whole checkpoint


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--minutes", type=float, required=True, help="the whole run's budget")
    ap.add_argument("--render-share", type=float, default=0.18)
    ap.add_argument("--work", type=Path, default=Path("/tmp/fhy-accelerated"))
    ap.add_argument("--model", default=None, help="checkpoint to start from (default model's)")
    ap.add_argument("--imgsz", type=int, default=1280)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--workers", type=int, default=16)
    ap.add_argument("--device", default="0")
    ap.add_argument("--val", type=int, default=200)
    ap.add_argument("--extra-dead", type=int, default=6)
    ap.add_argument("--train-seed", type=int, default=1, help="a new one gives unseen images")
    # Not cctv: it stays the style training never saw, on which adapting to a new camera is measured.
    ap.add_argument("--styles", default="classic,overhead",
                    help="render styles, comma-separated, in equal shares (`fuhuiyang sim frames --help`)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    start = time.monotonic()
    deadline = start + args.minutes * 60
    args.out.mkdir(parents=True, exist_ok=True)
    data = args.work / "data"
    summary: dict[str, object] = {"minutes": args.minutes, "imgsz": args.imgsz, "styles": args.styles}
    rendered = render_sets(
        data,
        start + args.render_share * args.minutes * 60,
        val=args.val,
        workers=args.workers,
        extra_dead=args.extra_dead,
        seed=args.train_seed,
        styles=tuple(args.styles.split(",")),
    )
    summary["data"] = asdict(rendered)
    summary["render_s"] = round(time.monotonic() - start, 1)
    log.info("rendered: %s", summary)

    run = args.work / "run"
    stop = threading.Event()
    copier = threading.Thread(target=keep_copying, args=(run, args.out, stop), daemon=True)
    copier.start()
    hours = (deadline - time.monotonic() - SETUP_S - FINISH_S) / 3600
    spec = TrainSpec(
        data=data / "data.yaml",
        out=run,
        model=args.model or str(default_checkpoint()),
        hours=hours,
        imgsz=args.imgsz,
        batch=args.batch,
        workers=args.workers,
        device=args.device,
        amp=args.device != "cpu",
    )
    try:
        summary["best"] = str(train(spec))
    finally:
        stop.set()
        copier.join()
        summary["wall_s"] = round(time.monotonic() - start, 1)
        (args.out / "summary.json").write_text(json.dumps(summary, indent=1))
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
