"""Burned-in text on a camera's frames (an NVR's clock and camera name), found to be proposed as
no-report zones (`cloud.detect.zones`).

The detector has called a camera's OSD name a dead bird, and a zone is the lasting answer, but
only once a technician draws it. Text is told from the birds, the house and its equipment by
three things together, over several frames of one camera:

- **strokes**: a scan line through text crosses many thin near-white marks much brighter than
  what is around them (ink: a morphological top-hat narrower than a letter); a perch, a pole or
  a lamp's edge is crossed once. Near-black strokes (a letter's outline) only extend a line
  found from white ones: NVRs burn in white by default, and on the real henhouse frames
  near-black strokes alone made 39 false lines in straw and shade (docs/results.md);
- **it stays**: the same place is dense with strokes in most frames, while birds move and the
  light changes (the clock's digits change, but are strokes whatever they show);
- **it is a line**: a few times wider than high, and of a letter's height. Wire mesh is
  strokes that stay too, but a block, not a line.

Sizes are shares of the frame's height, so any resolution works. A technician accepts or
ignores each proposal; nothing is silenced without them.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

MIN_FRAMES = 6  # with fewer, what stays cannot be told from what happens to be there (3 henhouse
# frames of one sitting gave three false lines)
STROKE_SHARE = 0.02  # ink window, of the frame's height: wider than a stroke, narrower than a bird
CONTRAST = 45  # grey levels above the window's opening: ink...
INK_LEVELS = (60, 190)  # ...burned in near-white, whatever the scene's light (near-black: an outline)
SCAN_SHARE = 0.04  # a scan window about one and a half letters long, of the frame's height...
MIN_CROSSINGS = 3  # ...crossing at least this many strokes is text-like
STAYS = 0.6  # share of frames in which a place is text-like, for text burned in
LINE_SHARE = (0.012, 0.08)  # a text line's height, of the frame's height
MIN_ASPECT = 2.5  # a line's width over its height
MIN_FILL = 0.3  # share of a line's box that is text-like: a slanted feeder line's box is mostly empty
GAP_SHARE = 0.015  # letters and words of one line lie this close (of the frame's height)
MARGIN = 0.5  # a proposal is its line grown by this many line heights per side
WORD_GAP = 1.5  # parts of one line lie at most this many line heights apart

Box = tuple[float, float, float, float]


def _grey(image: np.ndarray) -> np.ndarray:
    if image.ndim == 3:
        return np.asarray(cv2.cvtColor(image[:, :, :3], cv2.COLOR_BGR2GRAY))
    return image


def text_like(grey: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where one grey frame is dense with thin strokes (uint8 0/1): of bright ink, and of bright
    or dark ink (a white letter's black outline is what shows where it crosses a white wall)."""
    h = grey.shape[0]
    side = max(5, round(STROKE_SHARE * h)) | 1
    window = cv2.getStructuringElement(cv2.MORPH_RECT, (side, side))
    bright = (cv2.morphologyEx(grey, cv2.MORPH_TOPHAT, window) >= CONTRAST) & (grey >= INK_LEVELS[1])
    dark = (cv2.morphologyEx(grey, cv2.MORPH_BLACKHAT, window) >= CONTRAST) & (grey <= INK_LEVELS[0])
    scan = (max(5, round(SCAN_SHARE * h)), 1)
    out = []
    for ink in (bright, bright | dark):
        starts = np.zeros(ink.shape, np.float32)
        starts[:, 1:] = ink[:, 1:] & ~ink[:, :-1]
        crossings = cv2.boxFilter(starts, -1, scan, normalize=False, borderType=cv2.BORDER_CONSTANT)
        out.append((crossings >= MIN_CROSSINGS).astype(np.uint8))
    return out[0], out[1]


def text_zones(frames: Sequence[np.ndarray]) -> list[Box]:
    """Boxes (x0, y0, x1, y1, in the frames' pixels) around the text burned into the frames of
    one camera; frames of another size than the first are skipped. Empty under MIN_FRAMES."""
    greys = [_grey(f) for f in frames]
    greys = [g for g in greys if g.shape == greys[0].shape]
    if len(greys) < MIN_FRAMES:
        return []
    bright = np.zeros(greys[0].shape, np.float32)
    either = np.zeros(greys[0].shape, np.float32)
    for g in greys:
        b, e = text_like(g)
        bright += b
        either += e
    need = STAYS * len(greys)
    return _merged(_lines(bright >= need, either >= need))


def _lines(bright: np.ndarray, either: np.ndarray) -> list[Box]:
    """Lines of lasting bright strokes, each extended along its rows (and by up to half its height
    above and below: an outline, tall letters) over lasting strokes of either ink: dark ink alone
    is straw and shade on real frames, never a line of its own."""
    h, w = bright.shape
    join = cv2.getStructuringElement(cv2.MORPH_RECT, (max(3, round(GAP_SHARE * h)), 3))
    joined = np.asarray(cv2.morphologyEx(bright.astype(np.uint8), cv2.MORPH_CLOSE, join), np.uint8)
    n, _, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    either_rows = np.asarray(cv2.morphologyEx(either.astype(np.uint8), cv2.MORPH_CLOSE, join))
    out: list[Box] = []
    for x, y, bw, bh, _area in stats[1:n]:
        if not (LINE_SHARE[0] * h <= bh <= LINE_SHARE[1] * h and bw >= MIN_ASPECT * bh):
            continue
        x0, x1 = _extended(np.asarray(either_rows[y : y + bh].any(axis=0)), x, x + bw)
        if x1 - x0 < MIN_ASPECT * bh or either[y : y + bh, x0:x1].mean() < MIN_FILL:
            continue
        y0, y1 = _extended(either[:, x0:x1].mean(axis=1) >= MIN_FILL, y, y + bh, limit=bh // 2)
        m = MARGIN * (y1 - y0)
        out.append((max(0.0, x0 - m), max(0.0, y0 - m), min(float(w), x1 + m), min(float(h), y1 + m)))
    return out


def _extended(marked: np.ndarray, start: int, end: int, limit: int | None = None) -> tuple[int, int]:
    """[start, end) grown each way over the marked places next to it, by at most `limit`."""
    lo, hi = (0, len(marked)) if limit is None else (max(0, start - limit), min(len(marked), end + limit))
    while start > lo and marked[start - 1]:
        start -= 1
    while end < hi and marked[end]:
        end += 1
    return start, end


def _merged(boxes: list[Box]) -> list[Box]:
    """Proposals that overlap, or lie side by side on the same rows (the words of one line, or
    its parts where thin letters cross too few strokes), as one."""
    def near(a: Box, b: Box) -> bool:
        rows = min(a[3], b[3]) - max(a[1], b[1])
        gap = max(a[0], b[0]) - min(a[2], b[2])
        return rows >= 0.5 * min(a[3] - a[1], b[3] - b[1]) and gap <= WORD_GAP * max(a[3] - a[1], b[3] - b[1])

    out: list[Box] = []
    for b in sorted(boxes):
        for a in [a for a in out if near(a, b)]:
            out.remove(a)
            b = (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))
        out.append(b)
    return sorted(out)

