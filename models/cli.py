"""`fuhuiyang models ...`: train, export and evaluate the dead-bird detector."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from firmware_sim.camera import STYLES
from models.realsets import SETS, SPLITS

OSD_ZONES = ("none", "marked", "found")  # models.deaths.DeathsSpec.osd_zones

if TYPE_CHECKING:  # the commands import numpy and the detector only when they run
    import numpy as np

    from cloud.detect import Detections

log = logging.getLogger(__name__)

DEFAULT_CONF = {"chicken": 0.25, "dead": 0.25}
MODELS_DIR = click.option(
    "--models-dir",
    default=Path("var/models"),
    show_default=True,
    envvar="FUHUIYANG_MODELS_DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="The deployment's own (adapted) models and their registry.json [env FUHUIYANG_MODELS_DIR].",
)
DEFAULT_IOU = 0.5


@click.group()
def models() -> None:
    """Detector models: training (needs the `train` extra), export, evaluation."""


@models.command()
@click.option(
    "--data",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="data.yaml of a YOLO dataset (e.g. from `fuhuiyang sim frames`).",
)
@click.option(
    "--out",
    default=Path("runs/detect/train"),
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
)
@click.option(
    "--model",
    default="yolov8n.yaml",
    show_default=True,
    help="Model yaml (from scratch) or a .pt checkpoint to fine-tune.",
)
@click.option("--epochs", default=100, show_default=True, type=click.IntRange(1))
@click.option("--hours", default=None, type=float, help="Wall-time budget; overrides --epochs.")
@click.option("--imgsz", default=320, show_default=True, type=click.IntRange(32))
@click.option("--batch", default=16, show_default=True, type=click.IntRange(1))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(0))
@click.option("--device", default="cpu", show_default=True)
@click.option("--amp", is_flag=True, help="Mixed precision (a GPU): about twice as fast.")
def train(
    data: Path,
    out: Path,
    model: str,
    epochs: int,
    hours: float | None,
    imgsz: int,
    batch: int,
    workers: int,
    device: str,
    amp: bool,
) -> None:
    """Train a YOLO detector (from scratch by default)."""
    try:
        from models.train import TrainSpec
        from models.train import train as run_train
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise click.ClickException(f"training needs the train extra: {exc}") from exc
    best = run_train(
        TrainSpec(
            data=data,
            out=out,
            model=model,
            epochs=epochs,
            hours=hours,
            imgsz=imgsz,
            batch=batch,
            workers=workers,
            device=device,
            amp=amp,
        )
    )
    click.echo(str(best))


@models.command()
@click.option(
    "--weights", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--name", required=True, help="Registry name, e.g. fuhuiyang-dead-v1.")
@click.option("--imgsz", default=320, show_default=True, type=click.IntRange(32))
@click.option("--registry", default=None, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--conf", "confs", multiple=True, help="CLASS=THRESHOLD default score threshold.")
@click.option("--iou", default=DEFAULT_IOU, show_default=True, type=float)
@click.option("--default/--no-default", "make_default", default=True, show_default=True)
def export(
    weights: Path,
    name: str,
    imgsz: int,
    registry: Path | None,
    confs: tuple[str, ...],
    iou: float,
    make_default: bool,
) -> None:
    """Export a checkpoint to ONNX under models/weights/ and register it."""
    from cloud.detect import REGISTRY, sha256_file
    from models.register import register
    from models.train import class_names, export_onnx

    reg_path = registry or REGISTRY
    target = reg_path.parent / "weights" / f"{name}.onnx"
    export_onnx(weights, imgsz, target)
    # The checkpoint travels with the ONNX file: fine-tuning starts from it, and the
    # benchmark times ultralytics on it.
    shutil.copyfile(weights, target.with_suffix(".pt"))
    names = class_names(weights)
    conf = {n: DEFAULT_CONF.get(n, 0.25) for n in names}
    for item in confs:
        cls, _, value = item.partition("=")
        conf[cls] = float(value)
    raw = {
        "file": str(target.relative_to(reg_path.parent)),
        "sha256": sha256_file(target),
        "bytes": target.stat().st_size,
        "input_size": imgsz,
        "classes": names,
        "conf": conf,
        "iou": iou,
        "card": f"cards/{name}.md",
        "source": "ultralytics YOLO, trained from scratch",
    }
    register(name, raw, make_default, reg_path)
    click.echo(json.dumps(raw))


@models.command("eval")
@click.option(
    "--weights",
    default=None,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="An ONNX file; default: the registry's default model.",
)
@click.option("--model", "model_name", default=None, help="Registry name instead of --weights.")
@click.option(
    "--data", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path)
)
@MODELS_DIR
@click.option("--batch", default=8, show_default=True, type=click.IntRange(1))
@click.option(
    "--suggest-precision",
    default=0.9,
    show_default=True,
    type=click.FloatRange(0, 1),
    help="Each class's conf_for_pNN: the lowest threshold keeping this precision.",
)
@click.option(
    "--record",
    is_flag=True,
    help="Write the result and whether it meets issue 6's targets into the model's registry entry.",
)
@click.option(
    "--one-look",
    is_flag=True,
    help="Serve a model registered `mirrored` without its mirrored look (what that look adds).",
)
@click.option("--json", "as_json", is_flag=True)
def eval_(
    weights: Path | None,
    model_name: str | None,
    data: Path,
    models_dir: Path,
    batch: int,
    suggest_precision: float,
    record: bool,
    one_look: bool,
    as_json: bool,
) -> None:
    """Precision, recall and AP at IoU 0.5 per class on a YOLO folder (classes matched by name)."""
    from cloud.detect import (
        RegistryError,
        Sessions,
        entry_from_onnx,
        load_registered,
        served_detector,
    )
    from models.evaluate import (
        SCORE_FLOOR,
        DataSetError,
        evaluate,
        meets_targets,
        names_for,
        read_as,
        run_dataset,
    )

    if record and weights is not None:
        raise click.UsageError("--record needs a registered model (--model), not --weights")
    if record and one_look:
        raise click.UsageError("--record keeps what the model does as served, not with --one-look")

    if weights is not None:
        try:
            defaults = load_registered(model_name, models_dir, verify=False)
        except (RegistryError, KeyError):
            defaults = None
        entry = entry_from_onnx(weights, defaults)
    else:
        try:
            entry = load_registered(model_name, models_dir)
        except RegistryError as exc:
            raise click.ClickException(str(exc)) from None
    if one_look:
        entry = dataclasses.replace(entry, mirrored=False)
    try:
        detector = served_detector(entry, Sessions(lambda name: load_registered(name, models_dir)))
    except RegistryError as exc:
        raise click.ClickException(str(exc)) from None

    def detect(frames: list[np.ndarray]) -> list[Detections]:
        return detector.detect(frames, conf=SCORE_FLOOR)

    try:
        names = names_for(data, entry.classes)
        result = evaluate(run_dataset(data, detect, batch), names, list(entry.classes), entry.conf,
                          suggest_precision)
    except DataSetError as exc:
        raise click.ClickException(str(exc)) from None
    result["data_classes"] = read_as(data)
    result["model"] = entry.name
    result["mirrored"] = entry.mirrored
    result["weights"] = str(entry.path)
    if "dead_from" in entry.extra:  # `dead` was judged by that model (cloud.detect.DeadFromBase)
        result["dead_from"] = entry.extra["dead_from"]
    result["meets_targets"] = meets_targets(result)
    if record:
        _record_evaluation(entry.name, data, result)
    if as_json:
        click.echo(json.dumps(result))
        return
    dead_from = f", dead from {result['dead_from']}" if "dead_from" in result else ""
    click.echo(f"mAP50 {result['map50']:.3f}  ({entry.name}{dead_from})")
    for name, c in result["classes"].items():  # type: ignore[attr-defined]
        click.echo(
            f"  {name:10s} P {c['precision']:.3f}  R {c['recall']:.3f}  "
            f"AP50 {c['map50']:.3f}  n {c['instances']}"
        )
    for name, c in result["classes"].items():  # type: ignore[attr-defined]
        for kind, counts in c["errors"].items():
            shown = "  ".join(f"{k} {n}" for k, n in counts.items())
            click.echo(f"  {name:10s} {kind.replace('_', ' ')}: {shown}")
    for name, bands in result.get("recall_by_visibility", {}).items():  # type: ignore[attr-defined]
        shown = "  ".join(f"{b} {v['recall']:.2f} (n {v['instances']})" for b, v in bands.items())
        click.echo(f"  {name:10s} recall by share showing: {shown}")


@models.command("eval-deaths")
@click.option("--model", "model_name", default=None, help="Registry name; default model if omitted.")
@click.option("--cameras", default=12, show_default=True, type=click.IntRange(1))
@click.option("--hours", default=6.0, show_default=True, type=click.FloatRange(1.0))
@click.option("--deaths", default=2, show_default=True, type=click.IntRange(0),
              help="Birds dying in view per camera, in the first half of the hours.")
@click.option("--seed", default=99, show_default=True, type=int)
@click.option("--style", default="classic", show_default=True, type=click.Choice(STYLES),
              help="How the cameras are rendered: classic top-down, cctv wall cameras, or overhead "
                   "(textured birds under the classic camera).")
@click.option(
    "--dead-conf",
    multiple=True,
    type=click.FloatRange(0, 1, min_open=True),
    help="`dead` score the tracker takes boxes from; repeat to compare. "
    "Default: the model's tracker threshold.",
)
@click.option("--osd-zones", type=click.Choice(OSD_ZONES), default="none", is_flag=False, flag_value="marked",
              show_default=True,
              help="No-report zones over each camera's burned-in text: marked where it is drawn (by hand; "
              "the option alone), or found from its frames (the console's proposals, all accepted).")
@click.option("--json", "as_json", is_flag=True)
def eval_deaths(
    model_name: str | None,
    cameras: int,
    hours: float,
    deaths: int,
    seed: int,
    style: str,
    dead_conf: tuple[float, ...],
    osd_zones: str,
    as_json: bool,
) -> None:
    """Dead birds the detection worker would confirm on simulated cameras over some hours
    (detector + stillness tracker, five-minute frames), and its false confirmations."""
    import numpy as np

    from cloud.detect import OnnxDetector, StillnessConfig, load_entry
    from models.deaths import DeathsSpec, score, simulate

    entry = load_entry(model_name)
    detector = OnnxDetector(entry)
    dead = entry.classes.index("dead")
    thresholds = entry.track_vector()
    confs = dead_conf or (thresholds[dead],)
    floor = np.minimum(np.asarray(thresholds, np.float32), min(confs))
    spec = DeathsSpec(cameras=cameras, hours=hours, deaths=deaths, seed=seed, style=style, osd_zones=osd_zones)
    _show_progress("models.cli")
    runs = simulate(
        spec,
        lambda image: detector.detect([image], conf=floor)[0],
        lambda n: log.info("camera %d/%d rendered and judged", n, cameras),
    )
    stillness = StillnessConfig()
    chicken = entry.classes.index("chicken") if "chicken" in entry.classes else None
    results = [score(runs, thresholds, dead, c, stillness, hours, chicken) for c in sorted(confs)]
    out = {"model": entry.name, "spec": dataclasses.asdict(spec), "results": results}
    if as_json:
        click.echo(json.dumps(out))
        return
    for r in results:
        click.echo(
            f"dead >= {r['dead_conf']}: {r['confirmed']}/{r['carcasses_in_view']} carcasses "
            f"confirmed, median {r['median_delay_min']} min after death; "
            f"{r['false_confirmations']} false"
        )


@models.command("eval-osd")
@click.option("--cameras", default=24, show_default=True, type=click.IntRange(1),
              help="Rendered cctv wall cameras (three in four burn in a clock and a name).")
@click.option("--frames", default=24, show_default=True, type=click.IntRange(1),
              help="Frames per camera, over three days (the console reads 24).")
@click.option("--seed", default=7, show_default=True, type=int)
@click.option("--size", default=(1280, 720), show_default=True, type=(click.IntRange(64), click.IntRange(64)),
              metavar="W H")
@click.option("--data", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Instead, a folder of real frames of one camera: every proposal on a set without "
              "burned-in text is a false one.")
@click.option("--json", "as_json", is_flag=True)
def eval_osd(cameras: int, frames: int, seed: int, size: tuple[int, int], data: Path | None, as_json: bool) -> None:
    """Burned-in text (clock, camera name) found on a camera's frames, as the console proposes it
    for no-report zones: lines found and false proposals."""
    from models import osd_eval

    out = osd_eval.folder(data) if data is not None else osd_eval.rendered(cameras, frames, seed, size)
    if as_json:
        click.echo(json.dumps(out))
    elif data is not None:
        click.echo(f"{out['proposals']} proposals on {out['frames_in_views']} frames in {out['views']} views")
    else:
        click.echo(f"{out['lines_found']}/{out['text_lines']} text lines found on {out['cameras_with_text']} "
                   f"cameras with text; {out['false_proposals']} false proposals")


@models.command("quantize")
@click.option(
    "--model", "model_name", default=None, help="Registry name; default model if omitted."
)
@click.option(
    "--name", default=None, help="Registry name of the INT8 model (default: <model>-int8)."
)
@click.option(
    "--calibration",
    default=64,
    show_default=True,
    type=click.IntRange(1),
    help="Rendered frames to calibrate activation ranges on.",
)
@click.option("--default/--no-default", "make_default", default=False, show_default=True)
def quantize_cmd(
    model_name: str | None, name: str | None, calibration: int, make_default: bool
) -> None:
    """Static INT8 (QDQ, convolutions only) copy of a registered model, registered beside it."""
    from cloud.detect import REGISTRY, load_entry, sha256_file
    from models.quantize import quantize
    from models.register import derived_entry, register

    entry = load_entry(model_name)
    name = name or f"{entry.name}-int8"
    target = entry.path.with_name(f"{name}.onnx")
    quantize(entry.path, target, entry.input_size, count=calibration)
    raw = derived_entry(entry.name)
    raw.update(
        file=str(target.relative_to(REGISTRY.parent)),
        sha256=sha256_file(target),
        bytes=target.stat().st_size,
        source=f"INT8 static quantisation of {entry.name}",
    )
    register(name, raw, make_default)
    click.echo(json.dumps(raw))


@models.command("export-feedback")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--farm", default=None, help="Only this farm's verdicts.")
@click.option("--json", "as_json", is_flag=True)
def export_feedback(out: Path, farm: str | None, as_json: bool) -> None:
    """Confirmed/rejected dead-bird alerts as a YOLO dataset for fine-tuning.

    Database and frame store come from the cloud settings (FUHUIYANG_DATABASE_URL,
    FUHUIYANG_FRAMES_DIR, ...).
    """
    from cloud.db import connect
    from cloud.frames_store import open_frame_store
    from cloud.settings import CloudSettings
    from models.feedback import load_frames, write_feedback

    settings = CloudSettings()
    store = open_frame_store(settings.frames_dir, settings.frames_s3_url, settings.frames_s3_endpoint)
    with connect(settings.database_url, settings.database_schema) as conn:
        frames = load_frames(conn, farm)
    counts = write_feedback(frames, store.read, out)
    click.echo(json.dumps({"out": str(out), **counts}) if as_json else f"{counts} -> {out}")


@models.command("export-labels")
@click.option("--farm", required=True, help="Farm id whose label set to export.")
@click.option("--camera", default=None, help="Only this camera: <gateway_id>/<camera id>.")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--unlabelled", default=0, show_default=True, type=click.IntRange(0, 1000),
              help="Also write up to this many unlabelled frames per camera, evenly over its stored days, "
              "to OUT/unlabelled, for `models adapt --unlabelled OUT/unlabelled` to pseudo-label.")
@click.option("--json", "as_json", is_flag=True)
def export_labels(farm: str, camera: str | None, out: Path, unlabelled: int, as_json: bool) -> None:
    """A farm's label set (frames corrected in the console, decided dead-bird records) as a YOLO
    folder: images/, labels/, data.yaml (0: chicken, 1: dead), ready for `models adapt --data`.

    Database and frame store come from the cloud settings (FUHUIYANG_DATABASE_URL,
    FUHUIYANG_FRAMES_DIR, ...).
    """
    from cloud.db import connect
    from cloud.frames_store import open_frame_store
    from cloud.labels import label_set, unlabelled_frames, write_folder, write_unlabelled
    from cloud.settings import CloudSettings

    gateway_id = camera_id = None
    if camera is not None:
        gateway_id, _, camera_id = camera.partition("/")
        if not gateway_id or not camera_id or "/" in camera_id:
            raise click.BadParameter("use <gateway_id>/<camera id>, e.g. gw-f1/cam1", param_hint="--camera")
    settings = CloudSettings()
    store = open_frame_store(settings.frames_dir, settings.frames_s3_url, settings.frames_s3_endpoint)
    with connect(settings.database_url, settings.database_schema) as conn:
        if conn.execute("SELECT 1 FROM farms WHERE id = %s", (farm,)).fetchone() is None:
            raise click.BadParameter(f"no farm {farm!r}", param_hint="--farm")
        frames = label_set(conn, farm, gateway_id, camera_id)
        pool = unlabelled_frames(conn, farm, gateway_id, camera_id, unlabelled) if unlabelled else []
    if not frames:
        raise click.ClickException(f"farm {farm} has no labelled frames{' on ' + camera if camera else ''} yet")
    counts: dict[str, object] = {**write_folder(frames, store.read, out)}
    if unlabelled:
        extra = write_unlabelled(pool, store.read, out / "unlabelled")
        counts.update(unlabelled=extra["images"], unlabelled_skipped=extra["skipped"])
    click.echo(json.dumps({"out": str(out), **counts}) if as_json else f"{counts} -> {out}")


@models.command("adapt-worker")
@click.option("--minutes", default=15.0, show_default=True, type=click.FloatRange(2.0),
              help="Wall-time budget of each adaptation, as `models adapt --minutes`.")
@click.option("--poll", "poll_s", default=10.0, show_default=True, type=click.FloatRange(0.5, 3600),
              help="Seconds between looks for a new request while none waits.")
@click.option("--once", is_flag=True, help="Settle the requests waiting now, then exit.")
@MODELS_DIR
@click.option("--json", "as_json", is_flag=True, help="With --once: print {\"settled\": N}.")
def adapt_worker_cmd(minutes: float, poll_s: float, once: bool, models_dir: Path, as_json: bool) -> None:
    """Adapt the cameras' own models the console asks for (needs the train extra): each request's
    labelled frames, adapted as `models adapt` does, registered for that camera in the models
    directory. Database and frame store come from the cloud settings (FUHUIYANG_DATABASE_URL,
    FUHUIYANG_FRAMES_DIR, ...)."""
    from cloud.db import connect
    from cloud.frames_store import open_frame_store
    from cloud.settings import CloudSettings
    from models.adapt import AdaptError, require_training
    from models.adapt_worker import WorkerConfig, serve

    try:
        require_training()
    except AdaptError as exc:
        raise click.ClickException(str(exc)) from None
    settings = CloudSettings()
    store = open_frame_store(settings.frames_dir, settings.frames_s3_url, settings.frames_s3_endpoint)
    os.nice(10)  # training takes every core for minutes: ingest and detection on this machine go first
    _show_progress("models.adapt_worker")
    _show_progress("models.adapt")
    _show_progress("models.nanodet")  # the COCO start's steps, as `models adapt` shows them
    settled = serve(lambda: connect(settings.database_url, settings.database_schema,
                                    application_name="fuhuiyang-adapt-worker"),
                    store.read, WorkerConfig(models_dir=models_dir, minutes=minutes), poll_s, once)
    if as_json:
        click.echo(json.dumps({"settled": settled}))


def _show_progress(logger_name: str) -> None:
    """Per-step progress on stderr even without `fuhuiyang -v`."""
    log = logging.getLogger(logger_name)
    if not log.isEnabledFor(logging.INFO):
        log.setLevel(logging.INFO)
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        log.addHandler(handler)
        log.propagate = False


def _record_evaluation(name: str, data: Path, result: dict[str, object]) -> None:
    """Keep the held-out figures beside the model: the broker test with the shipped model runs
    only once `meets_targets` is true."""
    from datetime import date

    from cloud.detect import REGISTRY

    doc = json.loads(REGISTRY.read_text())
    classes = result["classes"]
    assert isinstance(classes, dict)
    doc["models"][name]["evaluation"] = {
        "data": str(data),
        "date": date.today().isoformat(),
        "map50": round(float(result["map50"]), 4),  # type: ignore[arg-type]
        "classes": {
            n: {k: round(float(c[k]), 4) for k in ("precision", "recall", "map50")}
            for n, c in classes.items()
        },
    }
    doc["models"][name]["meets_targets"] = bool(result["meets_targets"])
    REGISTRY.write_text(json.dumps(doc, indent=2) + "\n")


@models.command("train-refiner")
@click.option(
    "--data",
    required=True,
    multiple=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="YOLO folder to train on; repeat to train on several (e.g. rendered + farm feedback).",
)
@click.option(
    "--val",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="YOLO folder to report on each epoch and to set the weights and thresholds on.",
)
@click.option("--model", "model_name", default=None, help="Detector to refine (registry name).")
@click.option("--name", required=True, help="Registry name of the two-stage model.")
@click.option("--epochs", default=20, show_default=True, type=click.IntRange(1))
@click.option("--lr", default=3e-3, show_default=True, type=click.FloatRange(0, min_open=True))
@click.option("--input-size", default=64, show_default=True, type=click.IntRange(16))
@click.option("--expand", default=1.4, show_default=True, type=click.FloatRange(1.0))
@click.option(
    "--proposal-conf",
    default=0.02,
    show_default=True,
    type=click.FloatRange(0, 1),
    help="Detector score of the proposals trained on; calibration may serve a higher one.",
)
@click.option(
    "--cache",
    default=None,
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep the collected crops here and reuse them on the next run.",
)
@click.option(
    "--init",
    default=None,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Continue from this refiner state dict (the .pt saved beside a refiner's ONNX file).",
)
@click.option("--default/--no-default", "make_default", default=True, show_default=True)
def train_refiner(
    data: tuple[Path, ...],
    val: Path,
    model_name: str | None,
    name: str,
    epochs: int,
    lr: float,
    input_size: int,
    expand: float,
    proposal_conf: float,
    cache: Path | None,
    init: Path | None,
    make_default: bool,
) -> None:
    """Train the second stage on a detector's own proposals, export it and register both."""
    try:
        from models.refiner import build
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise click.ClickException(f"training needs the train extra: {exc}") from exc
    from cloud.detect import RefinerSpec

    _show_progress("models.refiner")  # a run takes tens of minutes: say how it goes
    spec = RefinerSpec(input_size=input_size, expand=expand, proposal_conf=proposal_conf)
    raw = build(data, val, model_name, name, spec, epochs=epochs, lr=lr, cache=cache, init=init)
    from models.register import register

    register(name, raw, make_default)
    click.echo(json.dumps(raw))


@models.command("calibrate-refiner")
@click.option("--model", "model_name", required=True, help="Two-stage model (registry name).")
@click.option(
    "--val",
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="YOLO folder to set the proposal score, weights and thresholds on.",
)
def calibrate_refiner(model_name: str, val: Path) -> None:
    """Set a two-stage model's proposal score, detector weights and thresholds anew on `val`,
    without retraining (e.g. after adding a farm's own frames to validation). Run
    `models eval --record` on a held-out set afterwards: the old figures are dropped."""
    from models.refiner import recalibrate
    from models.register import register

    try:
        raw = recalibrate(model_name, val)
    except (KeyError, ValueError) as exc:
        raise click.ClickException(f"cannot calibrate {model_name}: {exc}") from exc
    register(model_name, raw, make_default=False)
    click.echo(json.dumps(raw))


def _prepare_options(command: Callable[..., None]) -> Callable[..., None]:
    for option in reversed((
        click.option("--src", required=True,
                     type=click.Path(exists=True, file_okay=False, path_type=Path),
                     help="A local copy of the set's repository: its bare git directory or a checkout."),
        click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path)),
        click.option("--adapt", default=10, show_default=True, type=click.IntRange(1),
                     help="Frames set aside for adaptation; all others are the test split."),
        click.option("--seed", default=0, show_default=True, type=int, help="Seed of the fixed split."),
        click.option("--choose", default="random", show_default=True, type=click.Choice(SPLITS),
                     help="Adaptation frames: a seeded draw of frames with birds, or the console's "
                          "'label these first' order (spread over days, light and birds)."),
        click.option("--commit", default=None, hidden=True,
                     help="Another commit of the same layout (tests)."),
        click.option("--json", "as_json", is_flag=True),
    )):
        command = option(command)
    return command


def _prepare_real(set_name: str, src: Path, out: Path, adapt: int, seed: int, choose: str,
                  commit: str | None, as_json: bool) -> None:
    from models.evaluate import DataSetError
    from models.real_frames import RealSetError, prepare
    from models.realsets import SETS

    spec = SETS[set_name]
    try:
        done = prepare(spec, src, out, adapt=adapt, seed=seed, commit=commit, choose=choose)
    except (RealSetError, DataSetError) as exc:
        raise click.ClickException(str(exc)) from exc
    heights = done.bar_heights
    summary = {
        "set": spec.name, "repo": spec.repo, "licence": spec.licence,
        "out": str(out), "commit": done.commit, "frames": done.frames, "choose": choose,
        "adapt": done.adapt, "test_frames": len(done.test), "boxes": done.boxes,
        "bar": {"kind": spec.bar, "frames": len(heights), "height_px_min": min(heights, default=None),
                "height_px_max": max(heights, default=None)},
        "dropped": dict(done.dropped),
    }
    if as_json:
        click.echo(json.dumps(summary))
        return
    click.echo(f"{spec.name} ({spec.repo}@{done.commit[:12]}, {spec.licence}): {done.frames} frames -> "
               f"{out}/adapt ({len(done.adapt)}), {out}/test ({len(done.test)}); boxes {done.boxes}; "
               f"bar masked on {len(heights)}; dropped {dict(done.dropped)}")


@models.command("prepare-real")
@click.option("--set", "set_name", required=True, type=click.Choice(sorted(SETS)),
              help="Which known set of real frames (models/realsets.py: repository, commit, licence).")
@_prepare_options
def prepare_real(set_name: str, src: Path, out: Path, adapt: int, seed: int, choose: str,
                 commit: str | None, as_json: bool) -> None:
    """A public set of real poultry frames as YOLO folders OUT/adapt and OUT/test: checks the
    set's commit, paints over a burned-in bar, maps its classes onto ours by name."""
    _prepare_real(set_name, src, out, adapt, seed, choose, commit, as_json)


@models.command("prepare-henhouse")
@_prepare_options
def prepare_henhouse(src: Path, out: Path, adapt: int, seed: int, choose: str, commit: str | None,
                     as_json: bool) -> None:
    """`prepare-real --set henhouse`: real coop CCTV frames (MIT), the web player's bar painted
    over, `chicken` kept and `egg` dropped."""
    _prepare_real("henhouse", src, out, adapt, seed, choose, commit, as_json)


@models.command("paste-carcasses")
@click.option("--data", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="YOLO folder of real frames (images/, labels/, data.yaml), e.g. a prepared test split.")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--per-frame", default=2, show_default=True, type=click.IntRange(1, 20))
@click.option("--seed", default=50, show_default=True, type=int,
              help="Render seed of the carcasses; adapting uses 0, keep them apart.")
@click.option("--json", "as_json", is_flag=True)
def paste_carcasses(data: Path, out: Path, per_frame: int, seed: int, as_json: bool) -> None:
    """A copy of DATA with rendered carcasses pasted on each frame, sized as its birds: measures
    whether a camera's adapted model still finds `dead` on a set that has no real carcass."""
    from models.carcass_replay import with_carcasses
    from models.copy_paste import load_farm
    from models.evaluate import DataSetError
    from models.yolo_folder import class_counts, write_data_yaml, write_example

    try:
        frames, _ = load_farm(data)
    except DataSetError as exc:
        raise click.ClickException(str(exc)) from None
    pasted = with_carcasses(frames, seed, per_frame)
    for f in pasted:
        write_example(out, f.name, f.image, f.classes, f.boxes, ".jpg")
    write_data_yaml(out)
    counts = class_counts(f.classes for f in pasted)
    if as_json:
        click.echo(json.dumps({"out": str(out), "frames": len(pasted), "boxes": counts}))
    else:
        click.echo(f"{len(pasted)} frames written to {out}: {counts}")


@models.command("adapt")
@click.option("--data", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="YOLO folder of the farm's labelled frames (images/, labels/, data.yaml).")
@click.option("--out", "name", required=True, help="Name to register the adapted model under.")
@click.option("--base", default=None,
              help="Registered model it is adapted from (its `dead`, with --start coco); default: the default model.")
@click.option("--start", default="auto", show_default=True, type=click.Choice(["auto", "coco", "base"]),
              help="Network to fine-tune: coco (NanoDet-m trained on COCO photographs; learns `chicken`, "
                   "and `dead` from 5 labelled carcasses up, else `dead` from the base), base (the base's "
                   "own; learns both), auto (whichever sees the labelled birds better before training).")
@click.option("--unlabelled", default=None, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="The camera's unlabelled frames (a folder or a YOLO folder): pseudo-labelled.")
@click.option("--minutes", default=15.0, show_default=True, type=click.FloatRange(2.0),
              help="Wall-time budget, everything included.")
@click.option("--scope-farm", default=None, help="Serve it for this farm (its id).")
@click.option("--scope-camera", default=None,
              help="Serve it for this camera: <gateway_id>/<camera_id>, as the frames table names it.")
@click.option("--imgsz", default=None, type=click.IntRange(160, 1920),
              help="Input size; default: the smallest keeping the farm's small birds 24 px across.")
@click.option("--freeze", default=0, show_default=True, type=click.IntRange(0, 22),
              help="Layers kept as they are (YOLOv8's backbone is the first 10; 0 trains all).")
@click.option("--replay/--no-replay", default=True, show_default=True,
              help="With fewer than 5 labelled carcasses, paste rendered ones so `dead` is not forgotten.")
@click.option("--mirror/--no-mirror", default=True, show_default=True,
              help="Serve it looking at each frame as it is and mirrored, the two looks fused "
                   "(twice the compute).")
@click.option("--device", default="auto", show_default=True,
              help="Train on: auto (the first CUDA GPU torch sees, else the CPU), cpu, or a GPU's index.")
@MODELS_DIR
@click.option("--json", "as_json", is_flag=True)
def adapt_cmd(data: Path, name: str, base: str | None, start: str, unlabelled: Path | None, minutes: float,
              scope_farm: str | None, scope_camera: str | None, imgsz: int | None, freeze: int,
              replay: bool, mirror: bool, device: str, models_dir: Path, as_json: bool) -> None:
    """Fine-tune a model to one farm or camera from a few labelled frames (needs the train extra)
    and register it in the deployment's models directory."""
    from models.adapt import AdaptError, AdaptSpec, Scope, adapt, check_spec, require_training

    if scope_camera is not None and (scope_camera.count("/") != 1 or not all(scope_camera.split("/"))):
        raise click.BadParameter("expected <gateway_id>/<camera_id>", param_hint="--scope-camera")
    scope = Scope(scope_farm, scope_camera) if scope_farm or scope_camera else None
    spec = AdaptSpec(data=data, name=name, models_dir=models_dir, base=base, unlabelled=unlabelled,
                     minutes=minutes, scope=scope, imgsz=imgsz, freeze=freeze, replay=replay, mirrored=mirror,
                     device=device, start=start)
    try:
        check_spec(spec)
        require_training()
        _show_progress("models.adapt")
        _show_progress("models.nanodet")  # the COCO start's steps
        with contextlib.redirect_stdout(sys.stderr):  # training's chatter; stdout is the result
            result = adapt(spec)
    except AdaptError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(result))
        return
    click.echo(f"{name} registered in {models_dir}: {result['adapted']['frames']} frames, "
               f"{result['adapted']['boxes']} boxes, {result['adapted']['seconds']} s")
