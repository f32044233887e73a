"""Detector health per camera: far fewer birds than the house holds in view, or scores collapsing
against the camera's own history, flag the camera for labels (real PostgreSQL)."""

from __future__ import annotations

from datetime import datetime, timedelta

import psycopg
from psycopg.types.json import Jsonb

from cloud.labels.health import Decided, FrameCount, Window, expected_in_view, judge
from tests.api import world
from tests.api.conftest import ApiWorld


def test_judge_needs_frames_and_a_wide_margin() -> None:
    history = Window.of([FrameCount(120, 120 * 0.8)] * 30)
    healthy = Window.of([FrameCount(100, 100 * 0.75)] * 6)
    assert expected_in_view(290, None, 1) == 290 and expected_in_view(290, None, 2) == 145
    assert expected_in_view(290, 0.1, 2) == 29 and expected_in_view(None, None, 1) is None
    assert judge(healthy, history, 290).reasons == []
    assert not judge(Window.of([FrameCount(0, 0)] * 4), history, 290).judged  # too few frames to say
    blind = judge(Window.of([FrameCount(2, 0.6)] * 6), history, 290)
    assert blind.reasons == ["few_birds", "scores_collapsed", "counts_collapsed"] and blind.flagged
    # A new camera (no history) that sees a quarter of the expected birds is not flagged; under it, it is.
    assert judge(Window.of([FrameCount(73, 50.0)] * 6), Window.of([]), 290).reasons == []
    assert judge(Window.of([FrameCount(70, 50.0)] * 6), Window.of([]), 290).reasons == ["few_birds"]
    # A handful of birds expected says nothing about the detector.
    assert judge(Window.of([FrameCount(0, 0)] * 6), Window.of([]), 8).reasons == []
    # Dead-bird reports a person keeps rejecting: the camera's carcasses are not read either.
    assert judge(healthy, history, 290, decided=Decided(confirmed=1, rejected=2)).reasons == ["dead_rejected"]
    assert judge(healthy, history, 290, decided=Decided(confirmed=2, rejected=2)).reasons == []
    assert judge(healthy, history, 290, decided=Decided(rejected=1)).reasons == []


def frames(conn: psycopg.Connection, gateway: str, start: datetime, count: int, step: timedelta,
           chickens: int, score: float, seq0: int, lit: bool = True, summary: bool = False) -> None:
    """`count` judged frames, each with `chickens` chicken boxes at `score`; with `summary` the
    frame row carries the counts as the worker writes them, else (frames judged before migration
    0014) the check counts the boxes."""
    for i in range(count):
        ts = start + i * step
        conn.execute("INSERT INTO detection_frames (ts, gateway_id, camera_id, frame_seq, lit, detections, model, "
                     "chickens, chicken_score) VALUES (%s, %s, 'cam1', %s, %s, %s, 'fuhuiyang-dead-v5', %s, %s)",
                     (ts, gateway, seq0 + i, lit, chickens, chickens if summary else None,
                      chickens * score if summary else None))
        conn.execute("INSERT INTO detections (ts, gateway_id, frame_seq, camera_id, class, score, x1, y1, x2, y2, model) "
                     "SELECT %s, %s, %s, 'cam1', 'chicken', %s, n, n, n + 20, n + 20, 'fuhuiyang-dead-v5' "
                     "FROM generate_series(1, %s) n", (ts, gateway, seq0 + i, score, chickens))


def test_health_flags_the_camera_the_detector_cannot_read(api: ApiWorld) -> None:
    now = world.NOW
    with api.db.connect() as conn:
        birds = conn.execute("SELECT birds_now FROM flocks WHERE id = %s", (world.flock("f1"),)).fetchone()[0]
        for farm in ("f1", "f2"):  # the same history: about 120 of the house's ~290 birds seen, scores 0.8
            frames(conn, world.gateway(farm), now - timedelta(days=6), 30, timedelta(hours=4), 120, 0.8, 1000)
        # Today f1's camera sees almost nothing (a new lens angle, say); f2's still sees its birds.
        frames(conn, world.gateway("f1"), now - timedelta(hours=10), 8, timedelta(hours=1), 3, 0.35, 2000)
        frames(conn, world.gateway("f2"), now - timedelta(hours=10), 8, timedelta(hours=1), 110, 0.78, 2000,
               summary=True)
        # Dark frames are not judged, whatever they show.
        frames(conn, world.gateway("f2"), now - timedelta(hours=1), 5, timedelta(minutes=5), 0, 0.1, 3000, lit=False,
               summary=True)
        conn.commit()
    health = {c["farm_id"]: c for c in api.client.get("/api/v1/cameras/health", headers=api.headers("tech1")).json()}
    assert set(health) == {"f1", "f2", "f4"}
    f1, f2, f4 = health["f1"], health["f2"], health["f4"]
    assert f1["birds"] == birds and f1["cameras_in_house"] == 1 and f1["expected_in_view"] == birds
    assert f1["recent"] == {"frames": 8, "median_count": 3.0, "mean_score": 0.35}
    assert f1["history"]["frames"] == 30 and f1["history"]["median_count"] == 120
    assert f1["reasons"] == ["few_birds", "scores_collapsed", "counts_collapsed"]
    assert f1["model"] == "fuhuiyang-dead-v5"
    assert f2["judged"] and f2["reasons"] == [] and f2["recent"]["frames"] == 8
    assert f2["recent"]["median_count"] == 110 and abs(f2["recent"]["mean_score"] - 0.78) < 1e-3
    assert f4["judged"] is False and f4["last_judged"] is None and f4["reasons"] == []
    # A technician who knows the camera sees a tenth of the house: ~29 birds expected, 3 seen is still
    # far fewer; with only a thirtieth (~10 birds) of it in view the count alone no longer flags it.
    tech, gw = api.headers("tech1"), world.gateway("f1")
    r = api.client.patch(f"/api/v1/cameras/{gw}/cam1", headers=tech, json={"view_share": 0.1})
    assert r.status_code == 200 and abs(r.json()["view_share"] - 0.1) < 1e-6
    f1 = api.client.get("/api/v1/cameras/health?farm_id=f1", headers=api.headers("tech1")).json()[0]
    assert f1["expected_in_view"] == round(birds * 0.1, 1) and "few_birds" in f1["reasons"]
    api.client.patch(f"/api/v1/cameras/{gw}/cam1", headers=tech, json={"view_share": 0.03})
    f1 = api.client.get("/api/v1/cameras/health?farm_id=f1", headers=api.headers("tech1")).json()[0]
    assert "few_birds" not in f1["reasons"] and "scores_collapsed" in f1["reasons"]
    # Back to the even split; out-of-range shares, other areas and other roles are refused.
    assert api.client.patch(f"/api/v1/cameras/{gw}/cam1", headers=tech, json={"view_share": None}).json()[
        "view_share"] is None
    for bad in (0, 1.5, -0.2, "half"):
        assert api.client.patch(f"/api/v1/cameras/{gw}/cam1", headers=tech, json={"view_share": bad}).status_code == 422
    f3 = world.gateway("f3")
    assert api.client.patch(f"/api/v1/cameras/{f3}/cam1", headers=tech, json={"view_share": 0.5}).status_code == 404
    assert api.client.patch(f"/api/v1/cameras/{gw}/cam1", headers=api.headers("farmer1"),
                            json={"view_share": 0.5}).status_code == 403


def test_a_camera_whose_dead_bird_reports_keep_being_rejected_asks_for_labels(api: ApiWorld) -> None:
    now, gw = world.NOW, world.gateway("f2")
    with api.db.connect() as conn:
        frames(conn, gw, now - timedelta(hours=10), 8, timedelta(hours=1), 110, 0.78, 2000, summary=True)
        for hours, verdict in ((30, True), (50, False), (200, False), (20, None)):
            conn.execute("INSERT INTO mortality_records (flock_id, house_id, farm_id, ts, count, source, evidence, "
                         "confirmed) VALUES (%s, %s, 'f2', %s, 1, 'detector', %s, %s)",
                         (world.flock("f2"), world.house("f2"), now - timedelta(hours=hours),
                          Jsonb({"gateway_id": gw, "camera": "cam1"}), verdict))
        conn.commit()

    def reasons() -> list[str]:
        [f2] = api.client.get("/api/v1/cameras/health?farm_id=f2", headers=api.headers("tech1")).json()
        return list(f2["reasons"])

    # In the week before its latest frame: one report confirmed, one rejected (the other is older).
    assert reasons() == []
    with api.db.connect() as conn:
        conn.execute("UPDATE mortality_records SET confirmed = false WHERE farm_id = 'f2' AND confirmed IS NULL "
                     "AND source = 'detector' AND evidence->>'camera' = 'cam1'")
        conn.commit()
    assert reasons() == ["dead_rejected"]
