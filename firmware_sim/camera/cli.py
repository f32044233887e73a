"""`fuhuiyang sim frames` (dataset) and `fuhuiyang sim camera` (live stream or frame directory)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click


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
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary.")
def frames(
    out: Path, count: int, seed: int, sizes: tuple[str, ...], workers: int, as_json: bool
) -> None:
    """Render a YOLO dataset of poultry-house frames (classes chicken, dead)."""
    from firmware_sim.camera.dataset import write_dataset

    summary = write_dataset(out, count, seed, sizes=[_size(s) for s in sizes], workers=workers)
    if as_json:
        click.echo(json.dumps(asdict(summary)))
    else:
        click.echo(f"{summary.images} images, boxes {summary.boxes} -> {out}")
