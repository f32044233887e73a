from __future__ import annotations

from pathlib import Path

from edge.outbox import Outbox, OutboxLimits, Priority
from protocol import Kind

T = 1_780_000_000_000


def put(box: Outbox, kind: Kind, size: int = 100, now: int = T) -> int:
    return box.put(kind, f"fhy/v1/gw1/{kind.value}", lambda seq: bytes([seq % 256]) * size, now)


def test_seq_survives_restart_and_never_repeats(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    seqs = [put(box, Kind.TELEMETRY) for _ in range(3)] + [box.allocate_seq()]
    box.close()
    box = Outbox(tmp_path / "o.db")
    assert seqs == [0, 1, 2, 3]
    assert put(box, Kind.TELEMETRY) == 4
    assert box.depth == 4


def test_drains_by_class_then_age_and_deletes_only_on_ack(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    put(box, Kind.FRAME)
    put(box, Kind.WEIGHING)
    put(box, Kind.TELEMETRY)
    put(box, Kind.ALERT)
    put(box, Kind.TELEMETRY)
    rows = box.peek(10)
    assert [r.kind for r in rows] == ["alert", "telemetry", "telemetry", "weighing", "frame"]
    assert [r.seq for r in rows[1:3]] == [2, 4]
    inflight = {rows[0].id, rows[1].id}
    assert [r.kind for r in box.peek(2, exclude=inflight)] == ["telemetry", "weighing"]
    box.ack([rows[0].id])
    box.close()
    box = Outbox(tmp_path / "o.db")  # unacked rows are still there after a restart
    assert box.depth == 4
    assert box.peek(1)[0].seq == 2


def test_full_outbox_drops_frames_first_and_counts_them(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db", OutboxLimits(max_bytes=1000))
    for _ in range(5):
        put(box, Kind.FRAME, 150)  # 750 bytes of frames
    for _ in range(5):
        put(box, Kind.TELEMETRY, 100)  # needs 500: evicts the 2 oldest... then more frames
    assert box.bytes <= 1000
    assert box.depth_by_class() == {"telemetry": 5, "frame": 3}
    assert box.drops() == {"frame": 2}
    put(box, Kind.FRAME, 600)  # a new frame that cannot fit without evicting telemetry
    assert box.depth_by_class()["telemetry"] == 5
    assert box.depth_by_class()["frame"] == 3  # evicting them would not have made room
    assert box.drops() == {"frame": 3}
    assert box.drop_details()["drop:frame:full"] == 3
    box.close()
    assert Outbox(tmp_path / "o.db", OutboxLimits(max_bytes=1000)).drops() == {"frame": 3}


def test_age_caps_expire_stale_frames_but_keep_telemetry(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    put(box, Kind.FRAME, now=T)
    put(box, Kind.TELEMETRY, now=T)
    later = T + 3 * 86_400_000
    assert box.expire(later) == 1
    assert box.depth_by_class() == {"telemetry": 1}
    assert box.drops() == {"frame": 1}
    assert box.state(later).oldest_age_s == 3 * 86400


def test_live_data_is_not_queued_behind_a_backlog(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db")
    for i in range(50):
        put(box, Kind.TELEMETRY, now=T + i)  # an outage's backlog
    live_from = T + 10_000
    put(box, Kind.WEIGHING, now=live_from + 5)
    rows = box.peek(10, live_since_ms=live_from, backlog_limit=3)
    assert [r.kind for r in rows] == ["weighing", "telemetry", "telemetry", "telemetry"]
    assert [r.seq for r in rows[1:]] == [0, 1, 2]  # the backlog drains oldest first


def test_priorities_cover_every_uplink_kind() -> None:
    from edge.outbox import PRIORITY_OF_KIND
    from protocol.topics import UPLINK_KINDS

    assert set(PRIORITY_OF_KIND) == set(UPLINK_KINDS)
    assert PRIORITY_OF_KIND[Kind.HEALTH] is Priority.ALERT
