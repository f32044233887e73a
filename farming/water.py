"""Water and feed norms (DESIGN.md §5).

Birds drink 1.6-2.0x their feed weight. A drop of more than 25 % against the same house's
previous day, or intake flat or falling for more than 2 days while the birds still grow,
precedes disease. Fixed litre thresholds give mostly false alarms, so every rule compares a
house with its own recent days.
"""

from __future__ import annotations

WATER_TO_FEED_RANGE = (1.6, 2.0)

# Mid-range for housed broilers; slow local breeds range more and drink at the upper half
# (a simulator assumption inside the published range, not a separate source).
WATER_TO_FEED_RATIO: dict[str, float] = {
    "ross308": 1.8,
    "cobb500": 1.8,
    "yellow_feather": 1.9,
    "local_xiushan": 1.9,
}

DROP_PCT = 25.0  # vs the same house's previous day
FLAT_DAYS = 3  # "flat or falling for > 2 days"
