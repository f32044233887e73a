"""Which frames of a camera to label first: the ones that cover what it sees.

A technician given a camera's newest frames labels one hour of one day: the same light, the
same birds in the same places. Adapting on such frames teaches the model that hour (issue 18:
ten henhouse frames drawn from two of its days missed the birds of the other days). Here
frames are ordered so that each next one is the frame least like any already chosen or
already labelled (greedy k-centre), on a small signature of the frame's look
(`cloud.frame_look`: where things are, and the light), kept by the detection worker when it
judged the frame, or computed from the stored frame for one judged before it kept them.

With nothing labelled yet, the first pick is the camera's most typical frame (the one nearest
its median signature): what it shows most hours is what its model must get right first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import cv2
import numpy as np

from cloud.frame_look import from_stored, signature
from cloud.frames_store import decode

T = TypeVar("T")


def spread(candidates: Sequence[np.ndarray], chosen: Sequence[np.ndarray] = (), count: int | None = None
           ) -> list[int]:
    """Indexes into `candidates`, best first: each the candidate farthest from every signature
    picked before it and from `chosen` (frames already labelled)."""
    if not len(candidates):
        return []
    pool = np.stack(candidates)
    want = len(pool) if count is None else min(count, len(pool))
    if len(chosen):
        nearest = np.min([np.linalg.norm(pool - c, axis=1) for c in chosen], axis=0)
    else:
        nearest = np.full(len(pool), np.inf)
    order: list[int] = []
    while len(order) < want:
        if np.isinf(nearest).all():  # nothing labelled or picked yet: the most typical frame
            pick = int(np.argmin(np.linalg.norm(pool - np.median(pool, axis=0), axis=1)))
        else:
            pick = int(np.argmax(nearest))
        order.append(pick)
        nearest = np.minimum(nearest, np.linalg.norm(pool - pool[pick], axis=1))
        nearest[order] = -1.0
    return order


def stored_signature(data: bytes) -> np.ndarray | None:
    """The signature of a stored frame's bytes (JPEG, or PNG for screenshots), decoded at a
    quarter of its size (ample for a 32×18 thumbnail, and four times quicker); None when the
    bytes are not an image."""
    image = decode(data, cv2.IMREAD_REDUCED_COLOR_4)
    return None if image is None else signature(image)


def choose(candidates: Sequence[T], labelled: Sequence[T], read: Callable[[T], bytes], count: int,
           kept: Callable[[T], bytes | None] = lambda item: None) -> tuple[list[T], int]:
    """(up to `count` of `candidates` to label next, best first; how many frames could not be
    read). `kept` gives the signature the detection worker kept for a frame (`cloud.frame_look`);
    only frames without one are read: `read` gives a frame's stored JPEG, and a frame it cannot
    give is left out and counted."""
    unreadable = 0

    def signatures(items: Sequence[T]) -> tuple[list[T], list[np.ndarray]]:
        nonlocal unreadable
        found, sigs = [], []
        for item in items:
            try:
                sig = from_stored(kept(item))
                if sig is None:
                    sig = stored_signature(read(item))
            except (OSError, ValueError):
                sig = None
            if sig is None:
                unreadable += 1
                continue
            found.append(item)
            sigs.append(sig)
        return found, sigs

    pool, pool_sigs = signatures(candidates)
    _, done_sigs = signatures(labelled)
    return [pool[i] for i in spread(pool_sigs, done_sigs, count)], unreadable
