"""Per-bird weighing from a platform scale's raw load-cell stream (pure numpy core)."""

from edge.weighing.acceptance import AcceptanceWindow, ExpectedCurve, WindowParams
from edge.weighing.engine import Calibration, VisitParams, Weigher, WeighResult
from edge.weighing.segments import PROFILES, Segment, StabilityParams, stable_segments
from edge.weighing.summary import daily_summaries, local_date, summarize

__all__ = [
    "PROFILES",
    "AcceptanceWindow",
    "Calibration",
    "ExpectedCurve",
    "Segment",
    "StabilityParams",
    "VisitParams",
    "WeighResult",
    "Weigher",
    "WindowParams",
    "daily_summaries",
    "local_date",
    "stable_segments",
    "summarize",
]
