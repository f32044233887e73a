"""The pieces of a GPU lease's training run that must work before the lease: sizing the
rendered data by the clock, and reading ultralytics' results without polars."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import yaml

from models.accelerated import Rendered, keep_copying, render_sets
from models.train import _read_results_csv


def test_rendering_fills_the_time_it_is_given_and_writes_a_dataset(tmp_path: Path) -> None:
    # The clock reads 0 before validation, 2 s after its two images (1 s each) and when the
    # training share is sized, so 4 s to the deadline buys 4 training images.
    readings = iter([0.0, 2.0, 2.0])
    sets = render_sets(tmp_path, 6.0, val=2, workers=1, extra_dead=1, seed=7,
                       clock=lambda: next(readings))
    assert sets == Rendered(val=2, train=4, render_s_per_image=1.0)
    assert len(list((tmp_path / "train" / "images").glob("7_*.jpg"))) == 4
    assert len(list((tmp_path / "val" / "labels").glob("2_*.txt"))) == 2
    doc = yaml.safe_load((tmp_path / "data.yaml").read_text())
    assert doc["train"] == "train/images" and doc["val"] == "val/images"
    assert doc["names"] == {0: "chicken", 1: "dead"}


def test_a_lease_renders_each_style_in_its_share(tmp_path: Path) -> None:
    sets = render_sets(tmp_path, time.monotonic(), val=3, workers=1, extra_dead=0, seed=7,
                       styles=("classic", "cctv"))
    assert sets.val == 3 and sets.train == 2
    assert sorted(p.stem for p in (tmp_path / "val" / "images").glob("*.jpg")) == [
        "1002_000000", "2_000000", "2_000001"]
    assert sorted(p.stem for p in (tmp_path / "train" / "images").glob("*.jpg")) == [
        "1007_000000", "7_000000"]


def test_results_csv_is_read_as_ultralytics_reads_it(tmp_path: Path) -> None:
    csv = tmp_path / "results.csv"
    csv.write_text("epoch,time,metrics/mAP50(B)\n1,32.2,0.61\n2,47.9,0.65\n")
    got = _read_results_csv(SimpleNamespace(csv=csv))
    assert got == {"epoch": [1.0, 2.0], "time": [32.2, 47.9], "metrics/mAP50(B)": [0.61, 0.65]}
    assert _read_results_csv(SimpleNamespace(csv=tmp_path / "none.csv")) == {}


def test_a_lease_starts_from_the_default_models_checkpoint() -> None:
    from cloud.detect.registry import load_entry
    from models.accelerated import default_checkpoint

    start = default_checkpoint()
    assert start.exists() and start.suffix == ".pt"
    assert start.stem == load_entry(verify=False).path.stem


def test_results_are_copied_out_as_they_change_and_once_more_at_the_end(tmp_path: Path) -> None:
    run, out = tmp_path / "run", tmp_path / "out"
    run.mkdir()
    out.mkdir()
    (run / "results.csv").write_text("epoch\n1\n")
    stop = threading.Event()
    copier = threading.Thread(target=keep_copying, args=(run, out, stop, 0.05))
    copier.start()
    deadline = time.monotonic() + 10
    while not (out / "results.csv").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert (out / "results.csv").read_text() == "epoch\n1\n"
    (run / "results.csv").write_text("epoch\n1\n2\n")
    later = (run / "results.csv").stat().st_mtime + 1  # however coarse the file system's clock
    os.utime(run / "results.csv", (later, later))
    (run / "args.yaml").write_text("imgsz: 1280\n")
    stop.set()
    copier.join(10)
    assert not copier.is_alive()
    assert (out / "results.csv").read_text() == "epoch\n1\n2\n"  # the last pass took it
    assert (out / "args.yaml").exists() and not (out / "best.pt").exists()
