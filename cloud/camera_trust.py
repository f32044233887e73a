"""Whether a camera's dead-bird reports may text someone at once.

When the people of a farm reject most of a camera's recent dead-bird reports, the detector
misreads that camera (litter under a dirty dome, a feeder, birds cut by the frame) and its next
report is most likely another false one. Its sightings still make an alert in the app, with the
photo to confirm or reject, and a line in the farmer's evening digest; they no longer text at
once, nor count towards a critical alert, until people confirm as many of its reports as they
reject, or another model serves the camera (a technician adapted one from labelled frames): only
reports of the model serving the camera now are counted. The console meanwhile lists the camera
as one the detector cannot read yet (`cloud/labels/health.py`, reason `dead_rejected`).

One rule, read by the alert rules, the detector-health check and `models eval-deaths`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg

REPORTS = timedelta(days=7)  # the decisions that count: on reports of the week before
MIN_REJECTED = 2  # one rejection is a slip; two are a pattern


@dataclass(frozen=True)
class Decided:
    """A camera's dead-bird reports a person confirmed or rejected."""

    confirmed: int = 0
    rejected: int = 0


UNDECIDED = Decided()


def doubted(decided: Decided) -> bool:
    return decided.rejected >= MIN_REJECTED and decided.rejected > decided.confirmed


# A report without a model named (written by hand, or before the worker named it) counts for the
# model serving now.
DECIDED = """
SELECT m.evidence->>'gateway_id', m.evidence->>'camera',
       count(*) FILTER (WHERE m.confirmed), count(*) FILTER (WHERE NOT m.confirmed)
FROM mortality_records m
LEFT JOIN LATERAL (SELECT df.model FROM detection_frames df WHERE df.gateway_id = m.evidence->>'gateway_id'
                   AND df.camera_id = m.evidence->>'camera' AND df.ts <= %(at)s
                   ORDER BY df.ts DESC LIMIT 1) serving ON true
WHERE m.source = 'detector' AND m.confirmed IS NOT NULL AND m.ts > %(since)s AND m.ts <= %(at)s
  AND (m.evidence->>'gateway_id', m.evidence->>'camera') IN (SELECT * FROM unnest(%(gws)s::text[], %(cams)s::text[]))
  AND coalesce(m.evidence->>'model', serving.model) IS NOT DISTINCT FROM serving.model
GROUP BY 1, 2
"""


def decided(conn: psycopg.Connection, at: datetime, cameras: Collection[tuple[str, str]]
            ) -> dict[tuple[str, str], Decided]:
    """(gateway, camera) -> its reports of the week before `at` that a person decided, for `cameras`."""
    if not cameras:
        return {}
    gws, cams = zip(*cameras, strict=True)
    rows = conn.execute(DECIDED, {"at": at, "since": at - REPORTS, "gws": list(gws), "cams": list(cams)}).fetchall()
    return {(g, c): Decided(int(ok), int(no)) for g, c, ok, no in rows}


def doubted_cameras(conn: psycopg.Connection, at: datetime, cameras: Collection[tuple[str, str]]
                    ) -> frozenset[tuple[str, str]]:
    """Those of `cameras` (gateway, camera) whose dead-bird reports are doubted at `at`."""
    return frozenset(k for k, d in decided(conn, at, cameras).items() if doubted(d))
