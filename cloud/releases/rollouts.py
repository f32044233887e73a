"""Releases and staged rollouts in the database, and the retained ``release/desired`` they publish.

The database is the truth; the broker holds, per gateway, a retained copy of what it should run,
so a gateway offline during a rollout reads it when it returns (desired state, not a one-shot
message). Rows are committed before anything is published, as for desired config.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from cloud.releases.signing import SignedRelease
from cloud.releases.stages import Decision, StageHealth, decide, stage_health
from cloud.releases.store import ReleaseStore
from messaging.publisher import ConfigPublisher
from protocol import Kind, ReleaseDesired, ReleaseManifest, encode, topic_for

log = logging.getLogger(__name__)

BUNDLE_URL = "/api/v1/gateway/releases/{release_id}/bundle"
ACTIVE = ("running", "halted")


class RolloutError(ValueError):
    """A request that cannot be carried out; the message says why (a 4xx, a CLI error line)."""

    status = 422


class NotInArea(RolloutError):
    """Gateways or regions that do not exist or lie outside the caller's area (the same answer
    for both, so ids outside one's area leak nothing)."""

    status = 404


@dataclass(frozen=True)
class StageSpec:
    """`gateways:gw-1,gw-2`, `region:<id>` (a township, a county: every gateway under it) or `all`."""

    kind: str
    values: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> StageSpec:
        kind, _, rest = text.strip().partition(":")
        values = tuple(v.strip() for v in rest.split(",") if v.strip())
        if kind == "all" and not values:
            return cls("all")
        if kind in ("gateways", "region") and values:
            return cls(kind, values)
        raise RolloutError(f"stage {text!r}: expected gateways:<id,...>, region:<id> or all")

    @property
    def name(self) -> str:
        if self.kind == "all":
            return "all"
        shown = ",".join(self.values[:3]) + (",…" if len(self.values) > 3 else "")
        return f"{self.kind}:{shown}"


# --- releases ---------------------------------------------------------------------------
def register_release(conn: psycopg.Connection, store: ReleaseStore, signed: SignedRelease, bundle: bytes,
                     *, user_id: int | None = None, notes: str | None = None) -> int:
    """Store a signed bundle; the manifest must name these very bytes (the gateways check the
    signature, the cloud refuses a mismatched upload at once)."""
    import hashlib

    manifest = signed.manifest
    if len(bundle) != manifest.size or hashlib.sha256(bundle).hexdigest() != manifest.sha256:
        raise RolloutError(f"the bundle is not the one release {manifest.version}'s manifest names")
    existing = conn.execute("SELECT id, sha256 FROM releases WHERE version = %s", (manifest.version,)).fetchone()
    if existing is not None:
        if existing[1] != manifest.sha256:
            raise RolloutError(f"release {manifest.version} exists with other contents; a version is never reused")
        return int(existing[0])
    path = store.put(bundle)
    row = conn.execute(
        "INSERT INTO releases (version, name, sha256, size, manifest, signature, path, notes, created_by) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (manifest.version, manifest.name, manifest.sha256, manifest.size, manifest.model_dump_json(),
         signed.signature, path, notes, user_id)).fetchone()
    assert row is not None
    conn.commit()
    return int(row[0])


def _release(conn: psycopg.Connection, release_id: int) -> tuple[ReleaseManifest, str]:
    row = conn.execute("SELECT manifest, signature FROM releases WHERE id = %s", (release_id,)).fetchone()
    if row is None:
        raise RolloutError(f"no release {release_id}")
    return ReleaseManifest.model_validate(row[0]), str(row[1])


# --- starting ---------------------------------------------------------------------------
GATEWAYS_IN_REGIONS_SQL = """
WITH RECURSIVE sub(id) AS (
    SELECT id FROM regions WHERE id = ANY(%s::text[])
    UNION SELECT r.id FROM regions r JOIN sub ON r.parent_id = sub.id
)
SELECT g.id FROM gateways g JOIN farms f ON f.id = g.farm_id
WHERE f.region_id IN (SELECT id FROM sub) AND g.revoked_at IS NULL ORDER BY g.id"""


def resolve_stages(conn: psycopg.Connection, specs: Sequence[StageSpec],
                   scope_farms: frozenset[str] | None) -> list[tuple[str, list[str]]]:
    """Each stage's gateways: the first stage that selects a gateway owns it; every gateway must
    be on a farm in `scope_farms` (None: any)."""
    taken: set[str] = set()
    stages = []
    for spec in specs:
        if spec.kind == "gateways":
            rows = conn.execute("SELECT g.id, g.farm_id FROM gateways g WHERE g.id = ANY(%s) "
                                "AND g.revoked_at IS NULL", (list(spec.values),)).fetchall()
            rows = [(gw, farm) for gw, farm in rows if scope_farms is None or farm in scope_farms]
            unknown = sorted(set(spec.values) - {r[0] for r in rows})
            if unknown:
                raise NotInArea(f"gateways not found in your area: {', '.join(unknown[:10])}")
            outside: list[str] = []
        else:
            if spec.kind == "region":
                known = {r[0] for r in conn.execute("SELECT id FROM regions WHERE id = ANY(%s)",
                                                    (list(spec.values),)).fetchall()}
                if missing := sorted(set(spec.values) - known):
                    raise NotInArea(f"regions not found in your area: {', '.join(missing)}")
                rows = conn.execute("SELECT g.id, g.farm_id FROM gateways g WHERE g.id IN "
                                    f"({GATEWAYS_IN_REGIONS_SQL})", (list(spec.values),)).fetchall()
                outside = [gw for gw, farm in rows if scope_farms is not None and farm not in scope_farms]
            else:  # all: every gateway in scope
                rows = conn.execute("SELECT id, farm_id FROM gateways WHERE revoked_at IS NULL "
                                    "AND (%s::text[] IS NULL OR farm_id = ANY(%s::text[])) ORDER BY id",
                                    (_list(scope_farms), _list(scope_farms))).fetchall()
                outside = []
        if outside:
            raise NotInArea(f"regions not found in your area: {', '.join(spec.values)}")
        mine = [gw for gw, _ in rows if gw not in taken]
        taken.update(mine)
        stages.append((spec.name, sorted(mine)))
    if not taken:
        raise RolloutError("the stages select no gateway")
    return stages


def _list(values: frozenset[str] | None) -> list[str] | None:
    return None if values is None else sorted(values)


def start(conn: psycopg.Connection, publisher: ConfigPublisher, version: str, specs: Sequence[StageSpec], *,
          scope_farms: frozenset[str] | None = None, region_id: str | None = None, user_id: int | None = None,
          halt_share: float = 0.2, advance_share: float = 0.9, soak_s: int = 0) -> int:
    if not specs:
        raise RolloutError("a rollout needs at least one stage")
    if not (0 <= halt_share <= 1 and 0 < advance_share <= 1 and soak_s >= 0):
        raise RolloutError("halt share in [0, 1], advance share in (0, 1], soak >= 0")
    row = conn.execute("SELECT id FROM releases WHERE version = %s", (version,)).fetchone()
    if row is None:
        raise RolloutError(f"no release {version}; publish it first (fuhuiyang release publish)")
    release_id = int(row[0])
    stages = resolve_stages(conn, specs, scope_farms)
    targets = [gw for _, gws in stages for gw in gws]
    busy = conn.execute("SELECT t.gateway_id, r.id FROM rollout_targets t JOIN rollouts r ON r.id = t.rollout_id "
                        "WHERE r.state = ANY(%s) AND t.gateway_id = ANY(%s) LIMIT 5",
                        (list(ACTIVE), targets)).fetchall()
    if busy:
        raise RolloutError("gateways already in an active rollout: "
                           + ", ".join(f"{gw} (rollout {r})" for gw, r in busy))
    row = conn.execute(
        "INSERT INTO rollouts (release_id, halt_share, advance_share, soak_s, region_id, created_by) "
        "VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
        (release_id, halt_share, advance_share, soak_s, region_id, user_id)).fetchone()
    assert row is not None
    rollout_id = int(row[0])
    for number, (name, gws) in enumerate(stages, start=1):
        conn.execute("INSERT INTO rollout_stages (rollout_id, stage, name) VALUES (%s, %s, %s)",
                     (rollout_id, number, name))
        # What a rollback returns each gateway to: the release it last became healthy on.
        conn.execute(
            "INSERT INTO rollout_targets (rollout_id, gateway_id, stage, previous_release_id) "
            "SELECT %s, gw, %s, (SELECT r.release_id FROM rollout_targets t JOIN rollouts r ON r.id = t.rollout_id "
            "                    JOIN releases rel ON rel.id = r.release_id "
            "                    WHERE t.gateway_id = gw AND t.state = 'healthy' AND t.version = rel.version "
            "                    ORDER BY t.reported_at DESC NULLS LAST LIMIT 1) "
            "FROM unnest(%s::text[]) AS u(gw)", (rollout_id, number, gws))
    conn.commit()
    open_stage(conn, publisher, rollout_id, 1)
    return rollout_id


def open_stage(conn: psycopg.Connection, publisher: ConfigPublisher, rollout_id: int, stage: int) -> int:
    """Mark the stage's gateways pending, commit, then publish the release to each (retained)."""
    row = conn.execute("SELECT release_id FROM rollouts WHERE id = %s", (rollout_id,)).fetchone()
    assert row is not None
    release_id = int(row[0])
    gws = [r[0] for r in conn.execute(
        "UPDATE rollout_targets SET state = 'pending', published_at = now() "
        "WHERE rollout_id = %s AND stage = %s AND state IN ('waiting', 'held') RETURNING gateway_id",
        (rollout_id, stage)).fetchall()]
    conn.execute("UPDATE rollouts SET stage = %s, stage_opened_at = now(), updated_at = now() WHERE id = %s",
                 (stage, rollout_id))
    conn.commit()
    _publish(conn, publisher, rollout_id, [(gw, release_id) for gw in gws])
    return len(gws)


def _publish(conn: psycopg.Connection, publisher: ConfigPublisher, rollout_id: int,
             targets: Sequence[tuple[str, int | None]]) -> int:
    """Retained release/desired per gateway; a failure is logged (the rows are kept, `fuhuiyang
    release rollout republish` sends them again)."""
    releases: dict[int, tuple[ReleaseManifest, str]] = {}
    now_ms = int(time.time() * 1000)
    failed = 0
    for gw, release_id in targets:
        manifest = signature = url = None
        if release_id is not None:
            if release_id not in releases:
                releases[release_id] = _release(conn, release_id)
            manifest, signature = releases[release_id]
            url = BUNDLE_URL.format(release_id=release_id)
        message = ReleaseDesired(gateway_id=gw, seq=0, rollout_id=rollout_id, issued_at=now_ms,
                                 release=manifest, signature=signature, url=url)
        try:
            publisher.publish(topic_for(gw, Kind.RELEASE_DESIRED), encode(message))
        except Exception as exc:  # noqa: BLE001 - the broker may be down; the database keeps the truth
            failed += 1
            log.warning("publishing release/desired for %s failed: %s", gw, exc)
    return failed


# --- the controller ------------------------------------------------------------------------
def health(conn: psycopg.Connection, rollout_id: int) -> list[StageHealth]:
    row = conn.execute("SELECT rel.version FROM rollouts r JOIN releases rel ON rel.id = r.release_id "
                       "WHERE r.id = %s", (rollout_id,)).fetchone()
    if row is None:
        raise RolloutError(f"no rollout {rollout_id}")
    version = str(row[0])
    by_stage: dict[int, list[tuple[str, str | None]]] = {}
    for stage, state, about in conn.execute(
            "SELECT stage, state, version FROM rollout_targets WHERE rollout_id = %s", (rollout_id,)):
        by_stage.setdefault(int(stage), []).append((state, about))
    return [stage_health(stage, reports, version) for stage, reports in sorted(by_stage.items())]


def cycle(conn: psycopg.Connection, publisher: ConfigPublisher) -> list[tuple[int, Decision]]:
    """Judge each running rollout's open stage: halt, open the next one, complete or wait."""
    out = []
    rows = conn.execute("SELECT id, stage, halt_share, advance_share, "
                        "stage_opened_at + soak_s * interval '1 second' <= now(), "
                        "(SELECT max(stage) FROM rollout_stages s WHERE s.rollout_id = r.id) "
                        "FROM rollouts r WHERE state = 'running' ORDER BY id").fetchall()
    conn.commit()
    for rollout_id, stage, halt_share, advance_share, soaked, last in rows:
        current = next(h for h in health(conn, rollout_id) if h.stage == stage)
        decision = decide(current, last_stage=stage >= last, halt_share=halt_share,
                          advance_share=advance_share, soaked=bool(soaked))
        if decision.action == "halt":
            halt(conn, publisher, rollout_id, decision.reason or "halted")
        elif decision.action == "advance":
            open_stage(conn, publisher, rollout_id, stage + 1)
        elif decision.action == "complete":
            conn.execute("UPDATE rollouts SET state = 'completed', updated_at = now() WHERE id = %s", (rollout_id,))
            conn.commit()
        if decision.action != "wait":
            log.warning("rollout %s stage %s: %s %s", rollout_id, stage, decision.action, decision.reason or "")
            out.append((rollout_id, decision))
    return out


def _state(conn: psycopg.Connection, rollout_id: int) -> str:
    row = conn.execute("SELECT state FROM rollouts WHERE id = %s", (rollout_id,)).fetchone()
    if row is None:
        raise RolloutError(f"no rollout {rollout_id}")
    return str(row[0])


def halt(conn: psycopg.Connection, publisher: ConfigPublisher, rollout_id: int, reason: str) -> int:
    """No later stage opens; gateways that have not started yet (offline) lose the retained
    release, so they do not take it when they return. Returns how many were held back."""
    state = _state(conn, rollout_id)
    if state != "running":
        raise RolloutError(f"rollout {rollout_id} is {state}, not running")
    held = [r[0] for r in conn.execute(
        "UPDATE rollout_targets SET state = 'held' WHERE rollout_id = %s AND state = 'pending' "
        "RETURNING gateway_id", (rollout_id,)).fetchall()]
    conn.execute("UPDATE rollouts SET state = 'halted', reason = %s, updated_at = now() WHERE id = %s",
                 (reason[:500], rollout_id))
    conn.commit()
    for gw in held:
        try:
            publisher.publish(topic_for(gw, Kind.RELEASE_DESIRED), b"")  # clears the retained message
        except Exception as exc:  # noqa: BLE001
            log.warning("clearing release/desired for %s failed: %s", gw, exc)
    return len(held)


def resume(conn: psycopg.Connection, publisher: ConfigPublisher, rollout_id: int) -> int:
    state = _state(conn, rollout_id)
    if state != "halted":
        raise RolloutError(f"rollout {rollout_id} is {state}, not halted")
    row = conn.execute("UPDATE rollouts SET state = 'running', reason = NULL, updated_at = now() "
                       "WHERE id = %s RETURNING stage", (rollout_id,)).fetchone()
    assert row is not None
    conn.commit()
    return open_stage(conn, publisher, rollout_id, int(row[0]))  # the held gateways get it again


def roll_back(conn: psycopg.Connection, publisher: ConfigPublisher, rollout_id: int) -> int:
    """Every gateway the release was published to goes back to what it ran before."""
    state = _state(conn, rollout_id)
    if state == "rolled_back":
        raise RolloutError(f"rollout {rollout_id} is already rolled back")
    targets = [(gw, prev) for gw, prev in conn.execute(
        "SELECT gateway_id, previous_release_id FROM rollout_targets "
        "WHERE rollout_id = %s AND state NOT IN ('waiting', 'held') ORDER BY gateway_id", (rollout_id,))]
    held = [r[0] for r in conn.execute("SELECT gateway_id FROM rollout_targets WHERE rollout_id = %s "
                                       "AND state = 'pending'", (rollout_id,))]
    conn.execute("UPDATE rollout_targets SET state = 'held' WHERE rollout_id = %s AND state IN ('waiting', 'pending')",
                 (rollout_id,))
    conn.execute("UPDATE rollouts SET state = 'rolled_back', reason = coalesce(reason, 'rolled back by hand'), "
                 "updated_at = now() WHERE id = %s", (rollout_id,))
    conn.commit()
    pending = set(held)
    _publish(conn, publisher, rollout_id, [(gw, prev) for gw, prev in targets if gw not in pending])
    for gw in held:  # never started: nothing to roll back, only the retained release to clear
        try:
            publisher.publish(topic_for(gw, Kind.RELEASE_DESIRED), b"")
        except Exception as exc:  # noqa: BLE001
            log.warning("clearing release/desired for %s failed: %s", gw, exc)
    return len(targets) - len(held)


def republish(conn: psycopg.Connection, publisher: ConfigPublisher, rollout_id: int) -> int:
    """Send every opened gateway's retained release again (after a broker lost its store)."""
    row = conn.execute("SELECT release_id, state FROM rollouts WHERE id = %s", (rollout_id,)).fetchone()
    if row is None:
        raise RolloutError(f"no rollout {rollout_id}")
    if row[1] == "rolled_back":
        raise RolloutError(f"rollout {rollout_id} is rolled back")
    gws = [r[0] for r in conn.execute("SELECT gateway_id FROM rollout_targets WHERE rollout_id = %s "
                                      "AND state NOT IN ('waiting', 'held')", (rollout_id,))]
    conn.commit()
    return len(gws) - _publish(conn, publisher, rollout_id, [(gw, int(row[0])) for gw in gws])


# --- reading --------------------------------------------------------------------------------
def summary(conn: psycopg.Connection, rollout_id: int) -> dict[str, Any]:
    row = conn.execute(
        "SELECT r.id, rel.version, r.state, r.stage, r.reason, r.halt_share, r.advance_share, r.region_id, "
        "r.created_at, r.updated_at FROM rollouts r JOIN releases rel ON rel.id = r.release_id WHERE r.id = %s",
        (rollout_id,)).fetchone()
    if row is None:
        raise RolloutError(f"no rollout {rollout_id}")
    names: dict[int, str] = dict(conn.execute("SELECT stage, name FROM rollout_stages WHERE rollout_id = %s", (rollout_id,)).fetchall())
    stages = [{"stage": h.stage, "name": names.get(h.stage), "targets": h.targets, "healthy": h.healthy,
               "rolled_back": h.rolled_back, "pending": h.pending, "rollback_share": round(h.rollback_share, 3),
               "opened": h.stage <= row[3]} for h in health(conn, rollout_id)]
    reasons = [{"gateway_id": gw, "state": st, "version": v, "reason": why} for gw, st, v, why in conn.execute(
        "SELECT gateway_id, state, version, reason FROM rollout_targets WHERE rollout_id = %s "
        "AND reason IS NOT NULL ORDER BY reported_at DESC LIMIT 20", (rollout_id,))]
    return {"id": row[0], "version": row[1], "state": row[2], "stage": row[3], "reason": row[4],
            "halt_share": row[5], "advance_share": row[6], "region_id": row[7],
            "created_at": row[8].isoformat(), "updated_at": row[9].isoformat(), "stages": stages,
            "recent_problems": reasons}


def visible(conn: psycopg.Connection, rollout_id: int, scope_farms: frozenset[str] | None) -> bool:
    """A rollout is in a user's area when every one of its gateways is."""
    if scope_farms is None:
        return conn.execute("SELECT 1 FROM rollouts WHERE id = %s", (rollout_id,)).fetchone() is not None
    row = conn.execute(
        "SELECT count(*), count(*) FILTER (WHERE NOT (g.farm_id = ANY(%s))) FROM rollout_targets t "
        "JOIN gateways g ON g.id = t.gateway_id WHERE t.rollout_id = %s", (sorted(scope_farms), rollout_id)).fetchone()
    return row is not None and row[0] > 0 and row[1] == 0


def list_rollouts(conn: psycopg.Connection, scope_farms: frozenset[str] | None) -> list[dict[str, Any]]:
    rows = conn.execute(
        "SELECT r.id, rel.version, r.state, r.stage, r.reason, r.created_at FROM rollouts r "
        "JOIN releases rel ON rel.id = r.release_id WHERE %s::text[] IS NULL OR NOT EXISTS ("
        "  SELECT 1 FROM rollout_targets t JOIN gateways g ON g.id = t.gateway_id "
        "  WHERE t.rollout_id = r.id AND NOT (g.farm_id = ANY(%s::text[]))) ORDER BY r.id DESC LIMIT 200",
        (_list(scope_farms), _list(scope_farms))).fetchall()
    return [{"id": r[0], "version": r[1], "state": r[2], "stage": r[3], "reason": r[4],
             "created_at": r[5].isoformat()} for r in rows]
