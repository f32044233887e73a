"""`fuhuiyang sim frames` (dataset) and `fuhuiyang sim camera` (live stream or frame directory)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click

from firmware_sim.camera import STYLES


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise click.BadParameter(f"expected WIDTHxHEIGHT, got {text!r}") from None
    if w < 64 or h < 64:
        raise click.BadParameter("frames must be at least 64x64")
    return w, h


@click.command()
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--count", default=100, show_default=True, type=click.IntRange(1))
@click.option("--seed", default=0, show_default=True, type=int)
@click.option(
    "--size",
    "sizes",
    multiple=True,
    help="WxH; repeat to alternate. Default: 1280x720 and 640x480 at random.",
)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
@click.option(
    "--extra-dead",
    default=0,
    show_default=True,
    type=click.IntRange(0),
    help="Up to N more dead birds per image (class balance for training sets).",
)
@click.option(
    "--style",
    default="classic",
    show_default=True,
    type=click.Choice(STYLES),
    help="classic: flat top-down birds (test sets, benches); cctv: textured birds under a "
    "tilted wall camera with fisheye, IR night, glare, smudges, OSD and codec noise; overhead: "
    "cctv's textured birds and carcasses under the classic camera (train on it, hold cctv out).",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary.")
def frames(
    out: Path,
    count: int,
    seed: int,
    sizes: tuple[str, ...],
    workers: int,
    extra_dead: int,
    style: str,
    as_json: bool,
) -> None:
    """Render a YOLO dataset of poultry-house frames (classes chicken, dead)."""
    from firmware_sim.camera.dataset import write_dataset

    summary = write_dataset(
        out,
        count,
        seed,
        sizes=[_size(s) for s in sizes],
        workers=workers,
        extra_dead=extra_dead,
        style=style,
    )
    if as_json:
        click.echo(json.dumps(asdict(summary)))
    else:
        click.echo(f"{summary.images} images, boxes {summary.boxes} -> {out}")


@click.command()
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--birds", default=30, show_default=True, type=click.IntRange(1, 500))
@click.option("--size", "size_text", default="1280x720", show_default=True)
@click.option(
    "--start-ms",
    default=1_767_225_600_000,
    show_default=True,
    type=int,
    help="Event time of the first frame (epoch ms).",
)
@click.option(
    "--interval-s", default=60.0, show_default=True, type=float, help="Event time between frames."
)
@click.option(
    "--speed",
    default=60.0,
    show_default=True,
    type=float,
    help="Event seconds per wall second when serving.",
)
@click.option(
    "--dead", "dead", multiple=True, type=int, help="Index of a bird that is dead from the start."
)
@click.option(
    "--out",
    default=None,
    type=click.Path(file_okay=False, path_type=Path),
    help="Write a frame directory of <event_ts_ms>.jpg instead of serving HTTP.",
)
@click.option("--count", default=10, show_default=True, type=click.IntRange(1))
@click.option(
    "--style",
    default="classic",
    show_default=True,
    type=click.Choice(STYLES),
    help="classic: flat top-down birds; cctv: a wall camera whose lens, dome, OSD and encoder "
    "stay put from frame to frame, IR when the lights are off; overhead: the classic camera "
    "over textured birds.",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8081, show_default=True, type=int)
def camera(
    seed: int,
    birds: int,
    size_text: str,
    start_ms: int,
    interval_s: float,
    speed: float,
    dead: tuple[int, ...],
    out: Path | None,
    count: int,
    style: str,
    host: str,
    port: int,
) -> None:
    """One simulated house camera: MJPEG on /stream.mjpg and /snapshot.jpg, or a frame directory."""
    import time

    from firmware_sim.camera.scene import HouseScene
    from firmware_sim.camera.stream import CameraServer, FrameSource, write_frame_dir

    scene = HouseScene(seed, n_birds=birds, size=_size(size_text), style=style)
    for i in dead:
        scene.kill(i)
    source = FrameSource(scene, start_ms, int(interval_s * 1000))
    if out is not None:
        frames_ = write_frame_dir(source, out, count)
        click.echo(f"{len(frames_)} frames -> {out}")
        return
    server = CameraServer(source, host, port).start()
    click.echo(f"serving {server.url}/stream.mjpg")
    try:
        while True:
            source.tick()
            time.sleep(max(interval_s / speed, 0.01))
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
