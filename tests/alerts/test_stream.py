from __future__ import annotations

import asyncio
import json

from cloud.alerts.lifecycle import AlertEngine
from cloud.alerts.model import NH3_HIGH, AlertKey, Finding, Severity
from cloud.alerts.store import MemoryAlertStore
from cloud.notify.stream import AlertStream, StreamEvent, format_sse
from tests.alerts.factories import T0


def _finding(farm: str) -> Finding:
    return Finding(AlertKey(farm, "1", NH3_HIGH), Severity.WARNING, T0, "nh3_above", 22.0, 20.0)


def _data(frame: str) -> dict[str, object]:
    line = next(x for x in frame.splitlines() if x.startswith("data: "))
    return json.loads(line.removeprefix("data: "))


def _farm(frame: str) -> object:
    alert = _data(frame)["alert"]
    assert isinstance(alert, dict)
    return alert["farm"]


def test_sse_frame_format() -> None:
    frame = format_sse(StreamEvent(7, "alert", {"text": "多行\n文本"}))
    assert frame == 'id: 7\nevent: alert\ndata: {"text":"多行\\n文本"}\n\n'


def test_subscribers_see_their_farms_live_and_on_resume() -> None:
    async def scenario() -> None:
        store = MemoryAlertStore()
        engine = AlertEngine(store=store)
        stream = AlertStream(store)
        mine = stream.open(visible=lambda alert: alert.get("farm") == "farm-a")
        stream.publish(engine.observe(_finding("farm-b")))
        stream.publish(engine.observe(_finding("farm-a")))
        assert mine.pending() == 1
        frame = await mine.next_frame()
        assert _farm(frame) == "farm-a" and _data(frame)["kind"] == "opened"
        mine.close()
        assert stream.subscribers == 0

        resumed = stream.open(last_event_id=1)  # a browser reconnecting after event 1
        assert (await resumed.next_frame()).startswith("id: 2\n")
        assert resumed.pending() == 0

    asyncio.run(scenario())


def test_a_slow_subscriber_loses_its_oldest_events_not_the_others() -> None:
    async def scenario() -> None:
        store = MemoryAlertStore()
        engine = AlertEngine(store=store)
        stream = AlertStream(store, queue_size=2)
        slow = stream.open()
        fast = AlertStream(store, queue_size=10)
        other = fast.open()
        for i in range(5):
            effects = engine.observe(_finding(f"farm-{i}"))
            stream.publish(effects)
            fast.publish(effects)
        assert [_farm(await slow.next_frame()) for _ in range(2)] == ["farm-3", "farm-4"]
        assert slow.dropped == 3 and stream.dropped == 3
        assert other.pending() == 5

    asyncio.run(scenario())


def test_frames_generator_unsubscribes_when_the_client_leaves() -> None:
    async def scenario() -> None:
        store = MemoryAlertStore()
        stream = AlertStream(store)
        sub = stream.open()
        stream.publish(AlertEngine(store=store).observe(_finding("farm-a")))
        frames = sub.frames()
        assert (await frames.__anext__()).startswith("id: 1\n")
        await frames.aclose()
        assert stream.subscribers == 0

    asyncio.run(scenario())
