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


def test_drains_by_class_then_age_and_keeps_rows_after_the_puback(tmp_path: Path) -> None:
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
    box.ack([rows[0].id], T)
    box.close()
    box = Outbox(tmp_path / "o.db")  # every row is still there after a restart: no receipt yet
    assert box.depth == 5
    assert box.peek(1, now_ms=T)[0].seq == 2  # the acknowledged alert awaits its receipt
    assert box.state(T).unconfirmed == 1


def test_only_a_receipt_deletes_and_unconfirmed_rows_are_sent_again(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db", OutboxLimits(receipt_timeout_s=60))
    seqs = [put(box, Kind.TELEMETRY) for _ in range(6)]
    box.ack([r.id for r in box.peek(10)], T)  # the broker acknowledged all six
    assert box.depth == 6 and box.peek(10, now_ms=T + 59_999) == []
    assert box.confirm(1, [(3, 4)]) == 4  # seqs 0, 1, 3 and 4 are stored in the cloud
    assert box.state(T).held_from == 2 and box.state(T).unconfirmed == 2
    due = box.peek(10, now_ms=T + 60_000)
    assert [r.seq for r in due] == [2, 5]  # a minute without a receipt: sent again
    box.ack([r.id for r in due], T + 60_000)
    assert box.peek(10, now_ms=T + 60_000 + 119_999) == []  # the second wait is twice as long
    assert [r.seq for r in box.peek(10, now_ms=T + 180_000)] == [2, 5]
    assert box.drop_details() == {}
    assert box.confirm(5, []) == 2 and box.depth == 0
    assert box.state(T).held_from == seqs[-1] + 1  # empty: everything below the next seq is settled


def test_an_outbox_from_before_receipts_is_upgraded_in_place(tmp_path: Path) -> None:
    import sqlite3

    old = sqlite3.connect(tmp_path / "o.db")
    old.executescript("""CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT, prio INTEGER NOT NULL,
        kind TEXT NOT NULL, topic TEXT NOT NULL, payload BLOB NOT NULL, size INTEGER NOT NULL,
        created_ms INTEGER NOT NULL, seq INTEGER NOT NULL);
        INSERT INTO messages (prio, kind, topic, payload, size, created_ms, seq)
        VALUES (1, 'telemetry', 'fhy/v1/gw1/telemetry', x'00', 1, 0, 7);""")
    old.commit()
    old.close()
    box = Outbox(tmp_path / "o.db")
    assert [r.seq for r in box.peek(5, now_ms=T)] == [7] and box.state(T).unconfirmed == 0


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
