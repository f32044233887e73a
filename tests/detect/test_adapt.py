"""`models adapt`: farm data loading, copy-paste, CLI plumbing without torch; the training path
itself where the train extra is installed."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from cloud.detect import REGISTRY, iou_matrix, load_entry, load_registered
from models.adapt import (
    ADAPTED_CONF,
    COCO_PASTED,
    MAX_NETWORKS,
    MIN_BIRD_PX,
    MIN_INPUT,
    AdaptSpec,
    adapt,
    auto_imgsz,
    chosen_start,
    more_networks,
    training_device,
)
from models.carcass_replay import REPLAY_BELOW, REPLAY_FRAMES, needs_replay
from models.copy_paste import (
    Cutout,
    Labelled,
    at_most,
    cutouts,
    is_grey,
    load_farm,
    native_crops,
    paste,
    synthesise,
)
from models.dead_check import FLOOR, PER_FRAME, PROBE_FRAMES
from models.evaluate import DataSetError, image_files, label_path, read_labels
from models.yolo_folder import write_data_yaml, write_example

HAS_TRAIN = all(importlib.util.find_spec(m) is not None for m in ("torch", "ultralytics"))


def farm(tmp_path: Path, names: str = "{0: dead, 1: chicken, 2: feeder}", frames: int = 2) -> Path:
    """Two frames (or `frames`): grey floor with a light bird (class 1 here is `chicken`), a
    darker one (class 0) and a feeder."""
    data = tmp_path / "farm"
    for i in range(frames):
        image = np.full((360, 640, 3), 60, np.uint8)
        cv2.ellipse(image, (100 + 50 * i, 100), (30, 18), 0, 0, 360, (230, 230, 230), -1)
        cv2.ellipse(image, (400, 250), (25, 15), 0, 0, 360, (180, 200, 220), -1)
        boxes = np.array([[70 + 50 * i, 82, 130 + 50 * i, 118], [375, 235, 425, 265],
                          [500, 20, 560, 60]], np.float64)
        write_example(data, f"f{i}", image, np.array([1, 0, 2]), boxes)
    (data / "data.yaml").write_text(f"names: {names}\n")
    return data


def test_farm_classes_are_matched_by_name(tmp_path: Path) -> None:
    frames, left_out = load_farm(farm(tmp_path))
    assert [f.name for f in frames] == ["f0", "f1"]
    assert frames[0].classes.tolist() == [0, 1]  # ours: 0 chicken, 1 dead
    assert left_out == {"feeder": 2}
    with pytest.raises(DataSetError, match="none is one of"):
        load_farm(farm(tmp_path / "x", "{0: cow}"))
    frames, left_out = load_farm(farm(tmp_path / "y", "{0: Dead_Hen, 1: Hens, 2: feeder}"))
    assert frames[0].classes.tolist() == [0, 1] and left_out == {"feeder": 2}
    cvat = tmp_path / "cvat" / "obj_train_data"  # CVAT's layout: names above, labels beside images
    shutil.copytree(tmp_path / "y" / "farm" / "images", cvat)
    for label in (tmp_path / "y" / "farm" / "labels").iterdir():
        shutil.copy(label, cvat / label.name)
    (cvat.parent / "obj.names").write_text("dead bird\nchicken\nfeeder\n")
    again, left_out = load_farm(cvat)
    assert [f.classes.tolist() for f in again] == [f.classes.tolist() for f in frames] and left_out == {"feeder": 2}


def test_a_phone_photo_is_shrunk_to_a_cameras_size_with_its_boxes() -> None:
    photo = Labelled("p", np.zeros((3024, 4032, 3), np.uint8), np.array([0]), np.array([[2016.0, 1512, 2416, 1812]]))
    small = at_most(photo)
    assert small.image.shape == (1440, 1920, 3)
    assert np.allclose(small.boxes, [[960, 720, 2416 * 1920 / 4032, 1812 * 1920 / 4032]])
    camera = Labelled("c", np.zeros((1080, 1920, 3), np.uint8), np.array([0]), np.array([[1.0, 2, 3, 4]]))
    assert at_most(camera) is camera


@pytest.mark.skipif(not HAS_TRAIN, reason="needs the train extra (torch, ultralytics)")
def test_training_takes_a_gpu_where_torch_sees_one(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    from models.adapt import AdaptError

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert training_device("auto") == "cpu" and training_device("cpu") == "cpu"
    with pytest.raises(AdaptError, match="no GPU"):
        training_device("0")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert training_device("auto") == "0" and training_device("1") == "1"
    with pytest.raises(AdaptError, match="0-1 here"):
        training_device("gpu")


def test_input_size_keeps_small_birds_readable_and_never_under_the_floor() -> None:
    def frame(side: float) -> Labelled:  # a 1280x720 frame of ten birds `side` px across
        boxes = np.array([[10.0 * i, 10, 10.0 * i + side, 10 + side] for i in range(10)])
        return Labelled("f", np.zeros((720, 1280, 3), np.uint8), np.zeros(10, np.int64), boxes)

    assert auto_imgsz([frame(200)], 1280) == MIN_INPUT  # close birds: the floor
    small = auto_imgsz([frame(20)], 1920)  # far birds: scaled up until 24 px across
    assert small % 32 == 0 and small * 20 / 1280 >= MIN_BIRD_PX > (small - 32) * 20 / 1280
    assert auto_imgsz([frame(5)], 1280) == 1280  # never over the base model's size
    assert auto_imgsz([], 1280) == 1280


def test_copy_paste_adds_birds_on_free_floor(tmp_path: Path) -> None:
    frames, _ = load_farm(farm(tmp_path))
    pool = cutouts(frames)
    assert len(pool) == 4 and {c.cls for c in pool} == {0, 1}
    rng = np.random.default_rng(0)
    base = frames[0]
    image, cls, boxes = paste(base.image, base.classes, base.boxes, pool, rng, 3)
    assert len(cls) == len(boxes) > 2
    new = boxes[2:]
    assert (iou_matrix(new, base.boxes) <= 0.15).all()
    for x1, y1, x2, y2 in new.astype(int):
        cx, cy = (x1 + x2) // 2, (y1 + y2) // 2
        assert image[cy, cx].mean() > 150  # a bird's middle, not the floor's 60
        assert 0 <= x1 < x2 <= 640 and 0 <= y1 < y2 <= 360
    assert (base.image == frames[0].image).all()  # the source frame is untouched


def test_rare_carcasses_are_pasted_as_often_as_birds() -> None:
    floor = np.full((300, 400, 3), (40, 90, 140), np.uint8)
    pool = [Cutout(0, np.full((20, 30, 3), 200, np.uint8)) for _ in range(50)]
    pool.append(Cutout(1, np.full((20, 30, 3), 120, np.uint8)))
    rng = np.random.default_rng(0)
    pasted = np.concatenate([paste(floor, np.zeros(0), np.zeros((0, 4)), pool, rng, 4)[1]
                             for _ in range(50)])
    assert 0.35 < (pasted == 1).mean() < 0.65  # one carcass in 51 cutouts, half the pastes


def test_crops_keep_the_served_scale_and_centre_on_carcasses() -> None:
    image = np.zeros((720, 1280, 3), np.uint8)
    boxes = np.array([[100.0, 100, 160, 140], [1000, 600, 1060, 700], [630, 50, 700, 90]])
    frame = Labelled("f", image, np.array([0, 1, 0]), boxes)
    crops = native_crops([frame], imgsz=1920, side=640, seed=0, per_frame=3)
    assert [c.image.shape[:2] for c in crops] == [(640, 640)] * 3
    first = crops[0]  # centred near the carcass, scaled by 1.5 as the 1920 px model sees it
    assert 1 in first.classes.tolist()
    box = first.boxes[first.classes.tolist().index(1)]
    assert np.allclose([box[2] - box[0], box[3] - box[1]], [90, 150])
    for c in crops:  # every kept box lies inside its crop
        assert ((c.boxes >= 0) & (c.boxes <= 640)).all()


def test_ir_night_frames_get_grey_birds_and_day_frames_no_night_birds() -> None:
    day = np.zeros((200, 300, 3), np.uint8)
    day[:] = (40, 90, 140)  # brown litter
    night = np.full((200, 300, 3), 90, np.uint8)
    orange = np.zeros((30, 40, 3), np.uint8)
    orange[:] = (30, 120, 230)
    frames = [Labelled("day", day.copy(), np.array([0]), np.array([[10.0, 10, 50, 40]])),
              Labelled("night", night.copy(), np.array([1]), np.array([[10.0, 10, 50, 40]]))]
    frames[0].image[10:40, 10:50] = orange
    frames[1].image[10:40, 10:50] = 200
    pool = cutouts(frames)
    assert [c.grey for c in pool] == [False, True]
    assert is_grey(night) and not is_grey(day)
    rng = np.random.default_rng(1)
    image, cls, boxes = paste(night, np.zeros(0), np.zeros((0, 4)), pool[:1], rng, 3, scale=(1, 1))
    assert len(cls) == 3 and is_grey(image)  # the orange day bird went in grey
    image, cls, _ = paste(day, np.zeros(0), np.zeros((0, 4)), pool[1:], rng, 3)
    assert len(cls) == 0 and (image == day).all()  # no grey night bird on a day frame


def test_synthesis_is_deterministic(tmp_path: Path) -> None:
    frames, _ = load_farm(farm(tmp_path))
    a = synthesise(frames, 4, seed=3)
    b = synthesise(frames, 4, seed=3)
    assert [f.name for f in a] == [f.name for f in b]
    assert all((x.image == y.image).all() and (x.boxes == y.boxes).all() for x, y in zip(a, b, strict=True))
    out = tmp_path / "written"
    for f in a:
        write_example(out, f.name, f.image, f.classes, f.boxes)
    write_data_yaml(out)
    path = image_files(out)[0]
    cls, boxes = read_labels(label_path(path, out), 640, 360)
    assert len(cls) == len(a[0].classes)
    assert np.allclose(boxes, a[0].boxes, atol=0.01)


def test_unlabelled_frames_get_the_boxes_a_model_is_sure_of(tmp_path: Path) -> None:
    from models.adapt import pseudo_label, unlabelled_images

    data = farm(tmp_path)
    (data / "images" / "notes.txt").write_text("not an image")
    paths = unlabelled_images(data, skip={"f0"})  # f0 is labelled already
    assert [p.name for p in paths] == ["f1.png"]
    assert unlabelled_images(data / "images", skip=set()) == sorted((data / "images").glob("f*.png"))

    def detect(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.array([0]), np.array([[1.0, 2.0, 30.0, 40.0]])

    frames = pseudo_label(paths, detect)
    assert [f.name for f in frames] == ["pseudo-f1"]
    assert frames[0].classes.tolist() == [0] and frames[0].image.shape == (360, 640, 3)

    def sure_of_nothing(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros(0, np.int64), np.zeros((0, 4))

    assert pseudo_label(paths, sure_of_nothing) == []  # not taught as background


def test_adapt_cli_refuses_bad_input_in_one_line(tmp_path: Path) -> None:
    from models.cli import models

    data = farm(tmp_path)
    runner = CliRunner()
    res = runner.invoke(models, ["adapt", "--data", str(data), "--out", "Bad Name!",
                                 "--models-dir", str(tmp_path / "m")])
    assert res.exit_code == 1 and "model name 'Bad Name!'" in res.output
    if REGISTRY.exists():
        res = runner.invoke(models, ["adapt", "--data", str(data), "--out", load_entry().name,
                                     "--models-dir", str(tmp_path / "m")])
        assert res.exit_code == 1 and "shipped model" in res.output
    res = runner.invoke(models, ["adapt", "--data", str(data), "--out", "farm1",
                                 "--scope-camera", "cam1", "--models-dir", str(tmp_path / "m")])
    assert res.exit_code == 2 and "<gateway_id>/<camera_id>" in res.output
    for r in (res,):
        assert "Traceback" not in r.output


@pytest.mark.skipif(not REGISTRY.exists(), reason="no model registered yet")
def test_adapt_without_torch_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What CI (no train extra) sees; simulated where torch is installed."""
    from models import adapt as adapt_module
    from models.cli import models

    real = importlib.util.find_spec
    monkeypatch.setattr(adapt_module.importlib.util, "find_spec",
                        lambda name, *a: None if name in ("torch", "ultralytics") else real(name, *a))
    res = CliRunner().invoke(models, ["adapt", "--data", str(farm(tmp_path)), "--out", "farm1",
                                      "--models-dir", str(tmp_path / "m"), "--json"])
    assert res.exit_code == 1
    assert res.output.strip().startswith("Error: models adapt needs the train extra")
    assert len(res.output.strip().splitlines()) == 1 and "Traceback" not in res.output
    assert not (tmp_path / "m").exists()


@pytest.mark.slow
@pytest.mark.skipif(not HAS_TRAIN, reason="needs the train extra (torch, ultralytics)")
@pytest.mark.skipif(not REGISTRY.exists(), reason="no model registered yet")
def test_adapt_trains_registers_and_evaluates(tmp_path: Path) -> None:
    """A real (short) adaptation on rendered frames: the model is registered in the models dir
    with its scope, and `models eval --model NAME` runs it."""
    from firmware_sim.camera.dataset import write_dataset
    from models.cli import models

    data = tmp_path / "farm"
    write_dataset(data, count=3, seed=5, sizes=[(640, 360)])
    runner = CliRunner()
    models_dir = tmp_path / "m"
    res = runner.invoke(models, ["adapt", "--data", str(data), "--out", "farm5-cam1", "--start", "base",
                                 "--minutes", "2", "--imgsz", "320", "--scope-farm", "F05",
                                 "--scope-camera", "gw-05/cam1", "--models-dir", str(models_dir),
                                 "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout.strip().splitlines()[-1])
    assert doc["model"] == "farm5-cam1" and doc["scope"] == {"farm_id": "F05", "camera": "gw-05/cam1"}
    assert doc["adapted"]["frozen"] == 0 and doc["adapted"]["start"] == doc["base"]  # every layer trained
    assert doc["adapted"]["read_as"] == {"chicken": "chicken", "dead": "dead"}
    assert doc["adapted"]["device"] == training_device("auto")
    replayed = needs_replay(load_farm(data)[0])
    assert doc["adapted"]["replay_frames"] == (REPLAY_FRAMES if replayed else 0)
    entry = load_registered("farm5-cam1", models_dir)  # sha256 checked
    if replayed:  # `dead` served by the adapted model at the probe's threshold, or by the base
        check = doc["adapted"]["dead_check"]
        assert check["probe_carcasses"] == PROBE_FRAMES * PER_FRAME
        assert FLOOR <= check["own"]["threshold"] <= ADAPTED_CONF
        if check["served_by"] == "base":
            assert check["base"]["found"] > check["own"]["found"] and doc["dead_from"] == doc["base"]
            assert entry.track_vector()[entry.classes.index("dead")] == check["base"]["threshold"]
        else:
            assert entry.conf["dead"] == check["own"]["threshold"] and "dead_from" not in doc
    assert entry.conf["chicken"] == ADAPTED_CONF
    assert entry.input_size == 320 and entry.classes == ("chicken", "dead")
    assert entry.mirrored  # served with two looks unless adapted with --no-mirror
    assert (models_dir / "farm5-cam1.pt").exists()
    looks = {}
    for flags in ([], ["--one-look"]):
        res = runner.invoke(models, ["eval", "--model", "farm5-cam1", "--data", str(data), "--json",
                                     "--models-dir", str(models_dir), *flags])
        assert res.exit_code == 0, res.output
        looks[bool(flags)] = json.loads(res.output)
    assert looks[False]["model"] == "farm5-cam1" and looks[False]["mirrored"]
    assert not looks[True]["mirrored"]


@pytest.mark.slow
@pytest.mark.skipif(not HAS_TRAIN, reason="needs the train extra (torch, ultralytics)")
@pytest.mark.skipif(not REGISTRY.exists(), reason="no model registered yet")
def test_the_base_path_pseudo_labels_the_cameras_unlabelled_frames(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """`--unlabelled` on the base path: a first round, then the frames its model is sure of join
    the labelled ones for a second. This checks the wiring, not how sure is sure enough (that is
    `pseudo_label`'s test): a first round of 30 CPU-seconds may score every bird, even on copies
    of the frames it trained on, below PSEUDO_CONF (it did in CI), so here "sure" is 0.05 and up."""
    monkeypatch.setattr("models.adapt.PSEUDO_CONF", 0.05)
    from firmware_sim.camera.dataset import write_dataset
    from models.cli import models

    data, more = tmp_path / "farm", tmp_path / "more"
    write_dataset(data, count=3, seed=5, sizes=[(640, 360)])
    more.mkdir()
    for p in (data / "images").iterdir():
        shutil.copy(p, more / f"u-{p.name}")  # a camera's frames nobody labelled
    res = CliRunner().invoke(models, ["adapt", "--data", str(data), "--out", "farm5-cam2", "--start", "base",
                                      "--unlabelled", str(more), "--minutes", "2", "--imgsz", "320",
                                      "--models-dir", str(tmp_path / "m"), "--json"])
    assert res.exit_code == 0, res.output
    adapted = json.loads(res.stdout.strip().splitlines()[-1])["adapted"]
    assert adapted["rounds"] == 2 and adapted["start"] != "nanodet-m-coco"
    assert adapted["unlabelled"] == 3 and adapted["pseudo_boxes"] >= 3
    assert load_registered("farm5-cam2", tmp_path / "m").input_size == 320


def test_auto_starts_from_whichever_sees_the_labelled_birds_better() -> None:
    image = np.zeros((90, 160, 3), np.uint8)
    birds = Labelled("a", image, np.array([0, 0]), np.array([[1, 1, 9, 9], [20, 20, 30, 30]], np.float64))
    carcass = Labelled("b", image, np.array([1]), np.array([[1, 1, 9, 9]], np.float64))
    photos = {"coco": 0.34, "base": 0.05}.__getitem__  # henhouse before training
    renders = {"coco": 0.41, "base": 0.74}.__getitem__
    assert chosen_start("auto", [birds], photos) == ("coco", {"coco": 0.34, "base": 0.05})
    assert chosen_start("auto", [birds, carcass], renders)[0] == "base"
    assert chosen_start("auto", [carcass], photos) == ("base", {})  # no chicken to learn from
    assert chosen_start("coco", [carcass], renders) == ("coco", {})
    assert chosen_start("base", [birds], photos) == ("base", {})


@pytest.mark.skipif(not HAS_TRAIN, reason="needs the train extra (torch, ultralytics)")
@pytest.mark.skipif(not REGISTRY.exists(), reason="no model registered yet")
def test_renders_are_seen_better_by_the_base_than_by_coco(tmp_path: Path) -> None:
    """The fit `auto` compares, measured: our base, trained on renders, sees rendered birds
    better than NanoDet-m from COCO does, so `auto` adapts it on rendered frames."""
    from firmware_sim.camera.dataset import write_dataset
    from models.adapt import _start_fit

    data = tmp_path / "farm"
    write_dataset(data, count=3, seed=5, sizes=[(640, 360)])
    frames = load_farm(data)[0]
    spec = AdaptSpec(data=data, name="fit", models_dir=tmp_path / "m")
    base, coco = (_start_fit(load_entry(), frames, spec, start) for start in ("base", "coco"))
    assert 0.0 <= coco < base <= 1.0


@pytest.mark.slow
@pytest.mark.skipif(not HAS_TRAIN, reason="needs the train extra (torch, ultralytics)")
@pytest.mark.skipif(not REGISTRY.exists(), reason="no model registered yet")
def test_adapt_from_coco_serves_its_birds_and_the_bases_carcasses(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Frames with birds and no carcass start from NanoDet-m (COCO): the registered model is
    served with `dead` from the base (its threshold too), and `models eval` runs it."""
    from cloud.detect import DeadFromBase, Sessions, served_detector
    from models.cli import models

    data = farm(tmp_path, names="{0: feeder, 1: chicken, 2: egg}")
    default = load_entry()
    models_dir = tmp_path / "m"
    runner = CliRunner()
    res = runner.invoke(models, ["adapt", "--data", str(data), "--out", "farm6-cam2", "--start", "coco", "--imgsz", "160",
                                 "--minutes", "2", "--models-dir", str(models_dir), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout.strip().splitlines()[-1])
    adapted = doc["adapted"]
    assert adapted["start"] == "nanodet-m-coco" and adapted["steps"] > 0 and adapted["boxes"] == 2
    assert adapted["pasted"] == COCO_PASTED and f"{COCO_PASTED} copy-paste frames" in doc["source"]
    assert doc["dead_from"] == default.name and doc["conf"]["chicken"] == ADAPTED_CONF
    entry = load_registered("farm6-cam2", models_dir)  # sha256 checked
    assert entry.networks == adapted["networks"]  # a second only where the budget left time for it
    dead = entry.classes.index("dead")
    assert entry.conf_vector()[dead] == default.conf_vector()[dead]
    assert entry.track_vector()[dead] == default.track_vector()[dead]
    assert entry.input_size == 160 and not (models_dir / "farm6-cam2.pt").exists()
    lookup = lambda name: load_registered(name, models_dir)  # noqa: E731
    assert isinstance(served_detector(entry, Sessions(lookup, threads=1)), DeadFromBase)
    res = runner.invoke(models, ["eval", "--model", "farm6-cam2", "--data", str(data), "--json",
                                 "--models-dir", str(models_dir)])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["dead_from"] == default.name
    res = runner.invoke(models, ["adapt", "--data", str(data), "--out", "farm6-cam3", "--base", "farm6-cam2",
                                 "--start", "base", "--models-dir", str(models_dir)])
    assert res.exit_code == 1 and "has no checkpoint farm6-cam2.pt" in res.output
    # With the camera's unlabelled frames: a first round, then its sure boxes join in. Its best
    # score on these copies was 0.49-0.51, under PSEUDO_CONF: the wiring is checked at 0.05.
    monkeypatch.setattr("models.adapt.PSEUDO_CONF", 0.05)
    unlabelled = tmp_path / "more"
    unlabelled.mkdir()
    for p in (data / "images").iterdir():
        shutil.copy(p, unlabelled / f"u-{p.name}")
    res = runner.invoke(models, ["adapt", "--data", str(data), "--out", "farm6-cam4", "--start", "coco", "--imgsz", "160",
                                 "--unlabelled", str(unlabelled), "--minutes", "2", "--models-dir", str(models_dir),
                                 "--json"])
    assert res.exit_code == 0, res.output
    adapted = json.loads(res.stdout.strip().splitlines()[-1])["adapted"]
    assert adapted["rounds"] == 2 and adapted["steps"] > 0 and adapted["start"] == "nanodet-m-coco"
    assert adapted["unlabelled"] == 2 and adapted["pseudo_boxes"] >= 2


@pytest.mark.slow
@pytest.mark.skipif(not HAS_TRAIN, reason="needs the train extra (torch, ultralytics)")
@pytest.mark.skipif(not REGISTRY.exists(), reason="no model registered yet")
def test_the_coco_start_trains_more_networks_while_the_budget_leaves_time(tmp_path: Path) -> None:
    """Four networks from different seeds in one file, registered as such: each frame is looked
    at by every one, and they differ."""
    from cloud.detect import OnnxDetector, letterbox, to_tensor

    models_dir = tmp_path / "m"
    spec = AdaptSpec(data=farm(tmp_path), name="farm8", models_dir=models_dir, start="coco", imgsz=160,
                     minutes=8, steps=20, mirrored=False)  # minutes: room for four on a busy machine
    doc = adapt(spec)
    adapted = doc["adapted"]
    assert adapted["networks"] == MAX_NETWORKS and adapted["network_steps"] == [20] * MAX_NETWORKS
    assert adapted["networks_most"] == MAX_NETWORKS and 0 <= adapted["first_network_s"] <= adapted["seconds"]
    assert doc["networks"] == MAX_NETWORKS and f"{MAX_NETWORKS} networks from different seeds" in doc["source"]
    entry = load_registered("farm8", models_dir)
    assert entry.networks == MAX_NETWORKS
    frame = cv2.imread(str(next((spec.data / "images").iterdir())))
    every = OnnxDetector(entry, threads=1)
    out = np.split(every.raw(to_tensor([letterbox(frame, 160)[0]]))[0], MAX_NETWORKS, axis=1)
    for a, b in zip(out, out[1:], strict=False):
        assert not np.allclose(a[4:], b[4:], atol=1e-3)  # another seed: other scores


@pytest.mark.skipif(not HAS_TRAIN, reason="needs the train extra (torch, ultralytics)")
@pytest.mark.skipif(not REGISTRY.exists(), reason="no model registered yet")
@pytest.mark.parametrize(("left", "expected"), [
    (60.0, [100, 60]),  # a second network in the 60 s left: 60 of its 100 steps
    (250.0, [100, 100, 75, 75]),  # a full second; then 150 s shared by the third and fourth
    (40.0, [100]),  # under half the first's time: no second
])
def test_a_pair_short_of_time_shares_what_is_left(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, left: float,
                                                   expected: list[int]) -> None:
    """A busy machine: the first network took 100 s for its 100 steps. Another pair trains when
    each of its networks gets half that at least, on its share of the time left, with fewer steps;
    before, the rest of the budget went unused."""
    from models import adapt as adapting
    from models import nanodet

    clock = [0.0]

    def one_second_a_step(model: object, frames: object, learnt: object, size: int, plan: nanodet.FineTune,
                          deadline: float, device: object) -> int:
        steps = int(min(plan.steps, deadline - clock[0]))
        clock[0] += steps
        return steps

    monkeypatch.setattr(nanodet, "fine_tune", one_second_a_step)
    monkeypatch.setattr(adapting.time, "monotonic", lambda: clock[0])
    spec = AdaptSpec(data=farm(tmp_path), name="busy", models_dir=tmp_path / "m", start="coco", imgsz=160,
                     steps=100, mirrored=False)
    spec.models_dir.mkdir()
    labelled, _ = load_farm(spec.data)
    stages: list[dict[str, object]] = []
    _, _, trained = adapting._from_coco(spec, load_entry(), labelled, [], [], 160, 100.0 + left, "cpu",
                                        stages.append)
    assert trained["network_steps"] == expected and trained["networks"] == len(expected)
    assert trained["steps"] == sum(expected) and trained["first_network_s"] == 100
    assert [s.get("network") for s in stages] == [*range(1, len(expected) + 1), None]  # then exporting


def test_networks_double_while_the_time_left_holds_them() -> None:
    """One network took `took` s: a second needs half as long at least (with fewer steps), a third
    and fourth that long each."""
    assert more_networks(1, took=100.0, left=50.0) and not more_networks(1, took=100.0, left=49.0)
    assert more_networks(2, took=100.0, left=100.0) and not more_networks(2, took=100.0, left=99.0)
    assert not more_networks(MAX_NETWORKS, took=1.0, left=1e6)  # never more than fusion pairs up
    assert MAX_NETWORKS & (MAX_NETWORKS - 1) == 0


@pytest.mark.skipif(not HAS_TRAIN, reason="needs the train extra (torch, ultralytics)")
@pytest.mark.skipif(not REGISTRY.exists(), reason="no model registered yet")
def test_the_coco_start_learns_dead_from_enough_labelled_carcasses(tmp_path: Path) -> None:
    """Five labelled carcasses: the COCO start learns `dead` on a channel of its own and serves
    it, not the base's; with fewer they are left out and `dead` comes from the base."""
    from cloud.detect import DeadFromBase, Sessions, served_detector
    from models.cli import models

    runner = CliRunner()
    models_dir = tmp_path / "m"
    res = runner.invoke(models, ["adapt", "--data", str(farm(tmp_path, frames=REPLAY_BELOW)), "--out", "farm8",
                                 "--start", "coco", "--imgsz", "160", "--minutes", "2", "--models-dir",
                                 str(models_dir), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout.strip().splitlines()[-1])
    assert doc["adapted"]["learnt"] == ["chicken", "dead"] and "to `chicken` and `dead`" in doc["source"]
    assert "dead_from" not in doc and doc["conf"]["dead"] == ADAPTED_CONF
    entry = load_registered("farm8", models_dir)
    assert not isinstance(served_detector(entry, Sessions(lambda n: load_registered(n, models_dir), threads=1)),
                          DeadFromBase)
    res = runner.invoke(models, ["adapt", "--data", str(farm(tmp_path / "few")), "--out", "farm9", "--start", "coco",
                                 "--imgsz", "160", "--minutes", "2", "--models-dir", str(models_dir), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout.strip().splitlines()[-1])
    assert doc["adapted"]["learnt"] == ["chicken"] and doc["dead_from"] == load_entry().name


@pytest.mark.skipif(not HAS_TRAIN, reason="needs the train extra (torch, ultralytics)")
@pytest.mark.skipif(not REGISTRY.exists(), reason="no model registered yet")
def test_the_coco_start_refuses_a_set_without_a_chicken(tmp_path: Path) -> None:
    from models.cli import models

    data = farm(tmp_path, names="{0: dead, 1: egg, 2: feeder}")  # one carcass a frame, no bird
    res = CliRunner().invoke(models, ["adapt", "--data", str(data), "--out", "farm7", "--start", "coco",
                                      "--models-dir", str(tmp_path / "m")])
    assert res.exit_code == 1 and "labels no chicken, and --start coco needs them" in res.output
    assert "Traceback" not in res.output and not (tmp_path / "m" / "farm7.onnx").exists()
