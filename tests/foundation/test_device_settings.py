"""The device settings shared by gateway and cloud stay in step with the gateway's own tables."""

from __future__ import annotations

from edge.weighing.breeds import BREEDS
from protocol.device_settings import BREED_NAMES


def test_breed_names_match_the_gateways_growth_standards() -> None:
    assert tuple(sorted(BREED_NAMES)) == BREEDS
