"""Reading the gateways' alert events not yet judged, and marking them judged (migration 0012).

An event is judged once: `gateway_alarm_judged` holds its wire identity, written in the same
unit of work as the alerts it changed, so a rolled-back unit judges it again next cycle.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from cloud.alerts.gateway_events import GatewayEvent
from cloud.db.transactions import end_read

# The edge keeps data up to 30 days in its outbox (outbox.data_max_age_h): an event older than
# that never arrives, so the unjudged scan needs to look no further back.
LOOKBACK = timedelta(days=31)


def load_gateway_alerts(conn: psycopg.Connection, now: datetime) -> tuple[list[GatewayEvent], int]:
    """Unjudged alert events up to `now`, oldest first; and how many could not be read."""
    rows = conn.execute(
        """SELECT e.gateway_id, e.seq, g.farm_id, e.ts, e.payload FROM gateway_events e
           JOIN gateways g ON g.id = e.gateway_id
           WHERE e.kind = 'alert' AND e.ts > %s AND e.ts <= %s AND g.farm_id IS NOT NULL
             AND NOT EXISTS (SELECT 1 FROM gateway_alarm_judged j
                             WHERE j.gateway_id = e.gateway_id AND j.seq = e.seq)
           ORDER BY e.ts, e.gateway_id, e.seq""",
        (now - LOOKBACK, now),
    ).fetchall()
    end_read(conn)
    events, bad = [], 0
    for gateway, seq, farm, ts, payload in rows:
        try:
            events.append(_event(gateway, int(seq), farm, ts, payload))
        except (KeyError, TypeError, ValueError):
            bad += 1  # ingest validated the message; only a hand-made row gets here
    return events, bad


def mark_judged(conn: psycopg.Connection, events: Sequence[GatewayEvent]) -> None:
    if not events:
        return
    conn.execute(
        """INSERT INTO gateway_alarm_judged (gateway_id, seq)
           SELECT * FROM unnest(%s::text[], %s::bigint[]) ON CONFLICT DO NOTHING""",
        ([e.gateway for e in events], [e.seq for e in events]),
    )


def _event(gateway: str, seq: int, farm: str, ts: datetime, p: dict[str, Any]) -> GatewayEvent:
    since = p.get("since")
    return GatewayEvent(
        gateway=gateway,
        seq=seq,
        farm=farm,
        at=ts,
        type=str(p["type"]),
        severity=str(p["severity"]),
        house=p.get("house"),
        value=None if p.get("value") is None else float(p["value"]),
        threshold=None if p.get("threshold") is None else float(p["threshold"]),
        alarm=p.get("alarm"),
        since=None if since is None else datetime.fromtimestamp(int(since) / 1000, UTC),
        sms_to=tuple(str(n) for n in p.get("sms_to") or ()),
    )
