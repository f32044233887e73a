"""Ingest's part of a rollout: each gateway's latest ``release/state`` onto its rollout target.

Called inside ingest's batch transaction. The gateway's seq orders its reports (it increases
across restarts), so a redelivered or late older report never overwrites a newer one.
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg

from cloud.ingest.arrays import literals
from protocol import ReleaseState

_TS = "'epoch'::timestamptz + u.t * interval '1 millisecond'"

RELEASE_STATE_SQL = f"""
UPDATE rollout_targets r SET state = u.st, version = u.v, running = u.run, reason = u.why,
                             reported_at = least({_TS}, now()), reported_seq = u.seq
FROM unnest(%s::bigint[], %s::text[], %s::bigint[], %s::bigint[], %s::text[], %s::text[], %s::text[],
            %s::text[]) AS u(ro, gw, seq, t, st, v, run, why)
WHERE r.rollout_id = u.ro AND r.gateway_id = u.gw AND (r.reported_seq IS NULL OR r.reported_seq < u.seq)
  AND r.state <> 'waiting'"""


def record(cur: psycopg.Cursor, states: Sequence[ReleaseState]) -> int:
    latest: dict[tuple[int, str], ReleaseState] = {}
    for s in states:
        key = (s.rollout_id, s.gateway_id)
        if key not in latest or latest[key].seq < s.seq:
            latest[key] = s
    if not latest:
        return 0
    rows = list(latest.values())
    columns: list[list[object]] = [[s.rollout_id for s in rows], [s.gateway_id for s in rows],
                                   [s.seq for s in rows], [s.ts for s in rows], [s.state for s in rows],
                                   [s.version for s in rows], [s.running for s in rows], [s.reason for s in rows]]
    cur.execute(RELEASE_STATE_SQL, literals(RELEASE_STATE_SQL, columns))
    return cur.rowcount
