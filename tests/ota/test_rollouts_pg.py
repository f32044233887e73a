"""Staged rollouts on the real database: stages open in order, a broken release halts its stage,
halting clears the release for gateways that have not started, resume and roll back publish."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cloud.releases import reports, rollouts
from cloud.releases.store import ReleaseStore
from messaging.publisher import RecordingPublisher
from protocol import Kind, ReleaseDesired, ReleaseState, decode, topic_for
from tests.ota.bundles import signed
from tests.support.databases import TestDatabase

PILOTS = ["gw-a1", "gw-a2", "gw-a3"]
TOWN_A = [*PILOTS, "gw-a4", "gw-a5", "gw-a6"]
TOWN_B = ["gw-b1", "gw-b2", "gw-b3", "gw-b4"]


def _world(conn: object, tmp_path: Path) -> tuple[ReleaseStore, Ed25519PrivateKey]:
    c = conn  # a psycopg connection
    c.execute("INSERT INTO regions (id, level, name) VALUES ('cty', 'county', 'C')")  # type: ignore[attr-defined]
    for town, gws in (("ta", TOWN_A), ("tb", TOWN_B)):
        c.execute("INSERT INTO regions (id, parent_id, level, name) VALUES (%s, 'cty', 'township', %s)",  # type: ignore[attr-defined]
                  (town, town))
        for gw in gws:
            c.execute("INSERT INTO farms (id, name, region_id) VALUES (%s, %s, %s)", (f"f-{gw}", gw, town))  # type: ignore[attr-defined]
            c.execute("INSERT INTO gateways (id, farm_id) VALUES (%s, %s)", (gw, f"f-{gw}"))  # type: ignore[attr-defined]
    c.commit()  # type: ignore[attr-defined]
    return ReleaseStore(tmp_path / "releases"), Ed25519PrivateKey.generate()


def _report(conn: object, rollout: int, gw: str, state: str, version: str, seq: int) -> None:
    with conn.cursor() as cur:  # type: ignore[attr-defined]
        reports.record(cur, [ReleaseState(gateway_id=gw, seq=seq, ts=int(time.time() * 1000), rollout_id=rollout,
                                          version=version, state=state)])  # type: ignore[arg-type]
    conn.commit()  # type: ignore[attr-defined]


def _published(pub: RecordingPublisher) -> dict[str, bytes]:
    return {topic.split("/")[2]: payload for topic, payload in pub.sent}


STAGES = [rollouts.StageSpec.parse("gateways:" + ",".join(PILOTS)), rollouts.StageSpec.parse("region:ta"),
          rollouts.StageSpec.parse("region:cty")]


def test_broken_release_halts_at_its_first_stage(db: TestDatabase, tmp_path: Path) -> None:
    with db.connect() as conn:
        store, key = _world(conn, tmp_path)
        bundle, release = signed("9.0.1", key)
        rollouts.register_release(conn, store, release, bundle)
        pub = RecordingPublisher()
        rid = rollouts.start(conn, pub, "9.0.1", STAGES, halt_share=0.5)
        sent = _published(pub)
        assert set(sent) == set(PILOTS)  # stage 1 only
        desired: ReleaseDesired = decode(Kind.RELEASE_DESIRED, sent["gw-a1"])
        assert desired.release == release.manifest and desired.signature == release.signature
        assert desired.url == f"/api/v1/gateway/releases/{desired.url.split('/')[-2]}/bundle"  # type: ignore[union-attr]
        assert [s["targets"] for s in rollouts.summary(conn, rid)["stages"]] == [3, 3, 4]

        _report(conn, rid, "gw-a1", "downloading", "9.0.1", 10)
        _report(conn, rid, "gw-a1", "rolled_back", "9.0.1", 14)
        _report(conn, rid, "gw-a1", "running_new", "9.0.1", 12)  # late and older: ignored
        assert rollouts.cycle(conn, pub) == []  # 1 of 3 rolled back: 33 % is not past 50 %
        _report(conn, rid, "gw-a2", "rolled_back", "9.0.1", 20)
        pub.sent.clear()
        decisions = rollouts.cycle(conn, pub)
        assert [d.action for _, d in decisions] == ["halt"]
        summary = rollouts.summary(conn, rid)
        assert summary["state"] == "halted" and summary["stage"] == 1
        assert "2 of 3" in (summary["reason"] or "")
        # gw-a3 had not started: its retained release is cleared; no later stage was ever published.
        assert pub.sent == [(topic_for("gw-a3", Kind.RELEASE_DESIRED), b"")]
        state = conn.execute("SELECT state FROM rollout_targets WHERE rollout_id = %s AND gateway_id = 'gw-a3'",
                             (rid,)).fetchone()
        assert state == ("held",)
        assert rollouts.cycle(conn, pub) == []  # halted: nothing opens

        # A technician may resume (gw-a3 gets it again) or roll back (back to the installed agent).
        pub.sent.clear()
        rollouts.resume(conn, pub, rid)
        assert set(_published(pub)) == {"gw-a3"}
        with pytest.raises(rollouts.RolloutError, match="active rollout"):
            rollouts.start(conn, pub, "9.0.1", [rollouts.StageSpec.parse("gateways:gw-a1")])
        pub.sent.clear()
        rollouts.roll_back(conn, pub, rid)
        back = {gw: decode(Kind.RELEASE_DESIRED, p) for gw, p in _published(pub).items() if p}
        assert set(back) == {"gw-a1", "gw-a2"} and all(d.release is None for d in back.values())
        assert rollouts.summary(conn, rid)["state"] == "rolled_back"


def test_good_release_advances_and_completes_with_a_gateway_offline(db: TestDatabase, tmp_path: Path) -> None:
    with db.connect() as conn:
        store, key = _world(conn, tmp_path)
        bundle, release = signed("9.1.0", key)
        rollouts.register_release(conn, store, release, bundle)
        pub = RecordingPublisher()
        rid = rollouts.start(conn, pub, "9.1.0", STAGES, advance_share=0.6)
        seq = 100
        for stage_gws, next_gws in ((PILOTS, {"gw-a4", "gw-a5", "gw-a6"}), (["gw-a4", "gw-a5"], set(TOWN_B))):
            for gw in stage_gws:
                seq += 1
                _report(conn, rid, gw, "healthy", "9.1.0", seq)
            pub.sent.clear()
            assert [d.action for _, d in rollouts.cycle(conn, pub)] == ["advance"]
            assert set(_published(pub)) == next_gws
        # gw-a6 is offline: stage 2 advanced at 2 of 3 healthy (>= 60 %); it keeps its retained release.
        for gw in TOWN_B[:3]:
            seq += 1
            _report(conn, rid, gw, "healthy", "9.1.0", seq)
        assert [d.action for _, d in rollouts.cycle(conn, pub)] == ["complete"]
        _report(conn, rid, "gw-a6", "healthy", "9.1.0", 999)  # it returns, reads the retained message, reports
        stages = rollouts.summary(conn, rid)["stages"]
        assert [s["healthy"] for s in stages] == [3, 3, 3] and stages[2]["pending"] == 1
        # A second rollout from here knows what each gateway would roll back to.
        bundle2, release2 = signed("9.2.0", key)
        rollouts.register_release(conn, store, release2, bundle2)
        rid2 = rollouts.start(conn, pub, "9.2.0", [rollouts.StageSpec.parse("gateways:gw-a1,gw-b4")])
        prev = dict(conn.execute("SELECT gateway_id, previous_release_id IS NOT NULL FROM rollout_targets "
                                 "WHERE rollout_id = %s", (rid2,)).fetchall())
        assert prev == {"gw-a1": True, "gw-b4": False}


def test_bad_requests_are_refused_with_a_reason(db: TestDatabase, tmp_path: Path) -> None:
    with db.connect() as conn:
        store, key = _world(conn, tmp_path)
        bundle, release = signed("9.3.0", key)
        with pytest.raises(rollouts.RolloutError, match="not the one"):
            rollouts.register_release(conn, store, release, bundle + b"x")
        rollouts.register_release(conn, store, release, bundle)
        other, other_release = signed("9.3.0", key, {"x": b"other"})  # one signing: one created_at
        with pytest.raises(rollouts.RolloutError, match="never reused"):
            rollouts.register_release(conn, store, other_release, other)
        pub = RecordingPublisher()
        with pytest.raises(rollouts.RolloutError, match="no release"):
            rollouts.start(conn, pub, "0.0.0", STAGES)
        with pytest.raises(rollouts.RolloutError, match="gateways not found"):
            rollouts.start(conn, pub, "9.3.0", [rollouts.StageSpec.parse("gateways:gw-zz")])
        with pytest.raises(rollouts.RolloutError, match="not found in your area"):
            rollouts.start(conn, pub, "9.3.0", [rollouts.StageSpec.parse("region:cty")],
                           scope_farms=frozenset({"f-gw-a1"}))
        with pytest.raises(rollouts.RolloutError, match="expected"):
            rollouts.StageSpec.parse("township:ta")
        assert pub.sent == []
