"""Which frames to label first (cloud.labels.suggest): day, dusk, IR night and where the birds are."""

from __future__ import annotations

import cv2
import numpy as np

from cloud.labels.suggest import choose, signature, spread, stored_signature

W, H = 320, 180


def coop(light: float, birds: list[tuple[int, int]], ir: bool = False, seed: int = 0) -> np.ndarray:
    """A fixed coop (walls, perch, litter) under `light`, with white birds at `birds`."""
    rng = np.random.default_rng(seed)
    image = np.zeros((H, W, 3), np.float32)
    image[:] = (70, 110, 150)  # brown litter (BGR)
    image[:, :60] = (160, 160, 150)  # the wall
    cv2.line(image, (60, 40), (320, 100), (200, 200, 190), 6)  # a perch
    for x, y in birds:
        cv2.ellipse(image, (x, y), (18, 11), 0, 0, 360, (235, 240, 245), -1)
    image *= light
    if ir:
        image[:] = image.mean(axis=2, keepdims=True)
    image += rng.normal(0, 3, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def test_light_and_birds_move_the_signature_noise_does_not() -> None:
    day = signature(coop(1.0, [(150, 120)]))
    same = signature(coop(1.0, [(150, 120)], seed=1))  # sensor noise only
    dusk = signature(coop(0.8, [(150, 120)]))
    moved = signature(coop(1.0, [(250, 60)]))
    night = signature(coop(0.5, [(150, 120)], ir=True))

    def dist(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.linalg.norm(a - b))

    assert dist(day, same) < 0.2 * dist(day, moved)
    assert dist(day, moved) < dist(day, night)  # IR is another look altogether
    assert dist(day, dusk) < dist(day, night)
    assert signature(coop(1.0, [])[:, :, 0]).shape == day.shape  # a grey frame is a frame too


def test_the_first_picks_cover_each_kind_of_frame_before_any_twice() -> None:
    mornings = [coop(1.0, [(100 + 8 * i, 120)], seed=i) for i in range(12)]  # one bird walking along
    nights = [coop(0.5, [(200, 70)], ir=True, seed=20 + i) for i in range(3)]
    empty_noon = [coop(1.3, [], seed=30 + i) for i in range(3)]
    frames = mornings + nights + empty_noon
    kind = ["morning"] * 12 + ["night"] * 3 + ["noon"] * 3
    order = spread([signature(f) for f in frames], count=3)
    assert kind[order[0]] == "morning"  # the most typical frame comes first
    assert sorted(kind[i] for i in order) == ["morning", "night", "noon"]
    assert sorted(spread([signature(f) for f in frames])) == list(range(len(frames)))  # all, once each

    # With a night frame labelled already, the first suggestions are the other two kinds.
    labelled = [signature(coop(0.5, [(210, 75)], ir=True, seed=99))]
    again = spread([signature(f) for f in frames], labelled, count=2)
    assert sorted(kind[i] for i in again) == ["morning", "noon"]
    assert spread([], labelled, count=3) == []


def test_choose_leaves_out_and_counts_what_cannot_be_read() -> None:
    jpeg = {f"f{i}": cv2.imencode(".jpg", coop(1.0, [(60 + 40 * i, 100)], seed=i))[1].tobytes() for i in range(4)}
    jpeg["broken"] = b"not a jpeg"

    def read(name: str) -> bytes:
        if name == "gone":
            raise OSError("no such file")
        return jpeg[name]

    picked, unreadable = choose(["f0", "broken", "f1", "gone", "f2"], ["f3"], read, count=10)
    assert sorted(picked) == ["f0", "f1", "f2"] and unreadable == 2
    assert stored_signature(b"") is None
