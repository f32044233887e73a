"""The web player's control bar burned into the `matitalatina/henhouse` screenshots.

That set (`models.realsets`, "henhouse") holds screenshots of a web player: in about a third of
them its control bar (play button, time, volume, full screen, the three-dot menu and, on most, a
progress line) shows at the bottom, at heights that differ because the screenshots were cropped
by hand. `player_bar_top` finds it per frame; `models.real_frames` paints it over.
"""

from __future__ import annotations

import cv2
import numpy as np


def _menu_dots(gray: np.ndarray) -> tuple[float, float, float] | None:
    """The player's three-dot menu at the right end of its bar: (x, top, bottom) of its dots.

    Three small bright blobs stacked in one column, 4-14 px apart, near the bottom right corner.
    """
    h, w = gray.shape
    y0 = max(0, h - 130)
    x0 = int(w * 0.955)
    roi = (gray[y0:, x0:] > 190).astype(np.uint8)
    n, _, stats, cents = cv2.connectedComponentsWithStats(roi)
    dots = [(cents[i][0] + x0, cents[i][1] + y0, stats[i][4]) for i in range(1, n)
            if 3 <= stats[i][4] <= 120 and stats[i][2] <= 12 and stats[i][3] <= 12]
    for x, _, area in dots:
        column = sorted(d[1] for d in dots
                        if abs(d[0] - x) <= 2.5 and abs(d[2] - area) <= max(6, 0.5 * area))
        if len(column) >= 3 and all(4 <= g <= 14 for g in np.diff(column)[:2]):
            return x, column[0], column[-1]
    return None


def _progress_line(gray: np.ndarray) -> int | None:
    """First row of the thin progress line spanning the frame's width, brighter than the dark
    band around it over 90 % of its length."""
    h, w = gray.shape
    x1, x2 = int(w * 0.016), int(w * 0.984)
    for y in range(max(4, h - 120), h - 4):
        row, up, down = gray[y, x1:x2], gray[y - 4, x1:x2], gray[y + 4, x1:x2]
        if np.mean((row > up + 40) & (row > down + 40)) >= 0.9:
            return y
    return None


def player_bar_top(image: np.ndarray) -> int | None:
    """First row covered by the player's control bar, or None where it does not show.

    Its icons sit 40-42 px above the progress line; the three dots are as tall as the icons,
    so the bar starts a dot gap above the top dot.
    """
    gray = image.mean(axis=2) if image.ndim == 3 else image.astype(np.float64)
    dots = _menu_dots(gray)
    if dots is not None:
        _, top, bottom = dots
        return max(0, int(top - max(6.0, (bottom - top) / 2)))
    line = _progress_line(gray)
    if line is not None:
        return max(0, line - 48)
    return None
