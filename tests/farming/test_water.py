"""Water norms: every breed drinks within the published 1.6-2.0x its feed."""

from __future__ import annotations

from farming.growth import BREEDS
from farming.water import DROP_PCT, FLAT_DAYS, WATER_TO_FEED_RANGE, WATER_TO_FEED_RATIO


def test_every_breed_has_a_ratio_inside_the_published_range() -> None:
    low, high = WATER_TO_FEED_RANGE
    assert (low, high) == (1.6, 2.0)
    assert tuple(sorted(WATER_TO_FEED_RATIO)) == BREEDS
    assert all(low <= r <= high for r in WATER_TO_FEED_RATIO.values())
    assert (DROP_PCT, FLAT_DAYS) == (25.0, 3)
