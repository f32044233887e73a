"""Plumage, shank and comb colours of the breeds the camera shows (RGB, 0–255).

White broilers (Ross 308, Cobb 500) and the local birds of hill counties: yellow-feather,
red-brown, black (e.g. black-bone breeds with dark shanks), barred/speckled and partridge.
"""

from __future__ import annotations

from dataclasses import dataclass

RGB = tuple[int, int, int]


@dataclass(frozen=True)
class Plumage:
    name: str
    body: RGB
    wing: RGB
    tail: RGB
    belly: RGB
    shank: RGB
    comb: RGB
    speckle: RGB | None = None  # colour of spots/bars, if any
    speckle_density: float = 0.0  # spots per unit body area


PLUMAGES: dict[str, Plumage] = {
    "white": Plumage(
        "white",
        (236, 234, 226),
        (222, 220, 212),
        (228, 226, 218),
        (240, 238, 232),
        (226, 190, 90),
        (200, 40, 40),
    ),
    "yellow": Plumage(
        "yellow",
        (212, 160, 78),
        (190, 132, 58),
        (110, 70, 30),
        (226, 186, 112),
        (222, 186, 80),
        (205, 45, 40),
    ),
    "brown": Plumage(
        "brown",
        (150, 78, 38),
        (120, 58, 28),
        (30, 32, 28),
        (176, 110, 62),
        (210, 176, 90),
        (190, 35, 35),
    ),
    "black": Plumage(
        "black",
        (38, 38, 42),
        (30, 32, 36),
        (22, 26, 28),
        (56, 54, 58),
        (70, 68, 72),
        (120, 30, 50),
    ),
    "speckled": Plumage(
        "speckled",
        (180, 180, 176),
        (160, 160, 156),
        (60, 60, 60),
        (200, 200, 196),
        (214, 186, 96),
        (200, 40, 40),
        speckle=(40, 40, 44),
        speckle_density=28.0,
    ),
    "partridge": Plumage(
        "partridge",
        (168, 112, 60),
        (140, 90, 48),
        (40, 36, 30),
        (190, 150, 100),
        (190, 170, 110),
        (195, 40, 38),
        speckle=(70, 46, 26),
        speckle_density=22.0,
    ),
    "chick": Plumage(
        "chick",
        (238, 214, 120),
        (230, 204, 110),
        (238, 214, 120),
        (244, 226, 150),
        (236, 196, 110),
        (230, 150, 110),
    ),
    # Laying hens: ISA/Lohmann brown (red-brown, pale tail and hackle tips) and white Leghorns.
    "layer_brown": Plumage(
        "layer_brown",
        (166, 92, 46),
        (146, 76, 38),
        (220, 205, 180),
        (184, 118, 70),
        (222, 196, 110),
        (205, 40, 38),
    ),
    "layer_white": Plumage(
        "layer_white",
        (244, 242, 236),
        (232, 230, 224),
        (240, 238, 232),
        (246, 244, 240),
        (230, 200, 100),
        (215, 35, 35),
    ),
}

# Commercial broiler houses are white birds; backyard flocks mix the local colours.
BROILER = ("white",)
LOCAL = ("yellow", "brown", "black", "speckled", "partridge")
LAYERS = ("layer_brown", "layer_white")
