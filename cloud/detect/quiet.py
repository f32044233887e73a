"""A camera's quiet spots: where a rejected dead-bird report keeps the detector silent.

The detection worker reports nothing where a person rejected a report on that camera within
`StillnessConfig.rejected_window_s` (30 days), so the OSD name, a feeder or a smudge is not
reported every day. The same silence would hide a real carcass lying there later, so the console
lists each quiet spot and a technician can lift it (`quiet_lifted_at`, migration 0018): from
then on the worker judges that spot like any other. The worker (`boxes`) and the console
(`spots`, `lift`) read the one rule below; callers of `lift` check scope and role.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row

from cloud.detect.stillness import StillnessConfig

QUIET_FOR = timedelta(seconds=StillnessConfig().rejected_window_s)

SPOT_WHERE = ("source = 'detector' AND confirmed IS FALSE AND quiet_lifted_at IS NULL "
              "AND evidence->>'gateway_id' = %(gw)s AND evidence->>'camera' = %(cam)s AND ts >= %(since)s")


def _is_box(value: Any) -> bool:
    """The worker always writes four numbers; anything else (a hand-edited row) is no spot."""
    return isinstance(value, list) and len(value) == 4 and all(isinstance(v, int | float) for v in value)


def boxes(conn: psycopg.Connection, gateway_id: str, camera_id: str, now: datetime
          ) -> list[tuple[float, float, float, float]]:
    """The boxes the camera's detector keeps quiet at `now` (event time; reports after it do not count)."""
    rows = conn.execute(f"SELECT evidence->'box' FROM mortality_records WHERE {SPOT_WHERE} AND ts < %(now)s",
                        {"gw": gateway_id, "cam": camera_id, "since": now - QUIET_FOR, "now": now}).fetchall()
    return [(float(b[0]), float(b[1]), float(b[2]), float(b[3])) for (b,) in rows if _is_box(b)]


def spots(conn: psycopg.Connection, gateway_id: str, camera_id: str, now: datetime) -> list[dict[str, Any]]:
    """The camera's quiet spots, newest first: the rejected report, its box, and until when."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute("SELECT id AS record_id, ts, evidence->'box' AS box, ts + %(quiet)s AS quiet_until "
                    f"FROM mortality_records WHERE {SPOT_WHERE} ORDER BY ts DESC",
                    {"gw": gateway_id, "cam": camera_id, "since": now - QUIET_FOR, "quiet": QUIET_FOR})
        rows = cur.fetchall()
    return [{**r, "box": [float(v) for v in r["box"]]} for r in rows if _is_box(r["box"])]


def lift(conn: psycopg.Connection, gateway_id: str, camera_id: str, record_id: int, user_id: int | None,
         now: datetime) -> bool:
    """Lift one of the camera's quiet spots; False when it names none (not this camera's, not
    rejected, lifted already, or past its 30 days)."""
    row = conn.execute(f"UPDATE mortality_records SET quiet_lifted_at = now(), quiet_lifted_by = %(user)s "
                       f"WHERE id = %(id)s AND {SPOT_WHERE} RETURNING id",
                       {"gw": gateway_id, "cam": camera_id, "since": now - QUIET_FOR, "id": record_id,
                        "user": user_id}).fetchone()
    return row is not None
