"""App delivery: alert transitions as server-sent events.

`AlertStream` fans events out to subscribers (one per open browser tab) through bounded
queues; a slow tab loses its oldest events (counted) rather than slowing everyone. The API
route wraps `subscribe()` in a StreamingResponse with media type text/event-stream.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncGenerator, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from cloud.alerts.lifecycle import Effect, Transition
from cloud.alerts.store import AlertStore

log = logging.getLogger(__name__)

KEEPALIVE = ": keepalive\n\n"


@dataclass(frozen=True)
class StreamEvent:
    id: int
    event: str
    data: dict[str, Any]


def format_sse(event: StreamEvent) -> str:
    """One SSE frame; data is a single JSON line so no field needs escaping."""
    payload = json.dumps(event.data, ensure_ascii=False, separators=(",", ":"))
    return f"id: {event.id}\nevent: {event.event}\ndata: {payload}\n\n"


Visible = Callable[[dict[str, Any]], bool]


@dataclass
class _Subscriber:
    queue: asyncio.Queue[StreamEvent]
    visible: Visible
    dropped: int = 0


@dataclass
class AlertStream:
    store: AlertStore | None = None  # for publish(effects); the database feed needs none
    queue_size: int = 100
    replay_size: int = 200
    _next_id: int = 1
    _subscribers: list[_Subscriber] = field(default_factory=list)
    _recent: list[StreamEvent] = field(default_factory=list)
    dropped: int = 0

    def publish(self, effects: Iterable[Effect]) -> int:
        """Turn lifecycle transitions into events; returns how many were published."""
        count = 0
        for effect in effects:
            if not isinstance(effect, Transition):
                continue
            alert = None if self.store is None else self.store.get(effect.alert_id)
            data: dict[str, Any] = {
                "kind": effect.kind,
                "at": effect.at.isoformat(),
                "state": effect.state.value,
            }
            if alert is not None:
                data["alert"] = alert.to_dict()
            self.publish_data(data)
            count += 1
        return count

    def publish_data(self, data: dict[str, Any]) -> None:
        """Publish one event built elsewhere (the database feed); call on the event loop."""
        self._emit(StreamEvent(self._next_id, "alert", data))
        self._next_id += 1

    def _emit(self, event: StreamEvent) -> None:
        self._recent = [*self._recent[-(self.replay_size - 1) :], event]
        for sub in self._subscribers:
            if not sub.visible(event.data.get("alert", {})):
                continue
            if sub.queue.full():
                sub.queue.get_nowait()  # drop the oldest for this slow tab
                sub.dropped += 1
                self.dropped += 1
            sub.queue.put_nowait(event)

    def open(
        self, visible: Visible = lambda alert: True, last_event_id: int | None = None
    ) -> Subscription:
        """Register a client now (so nothing published from here on is missed).

        `last_event_id` (the Last-Event-ID header of a reconnecting browser) replays what
        it missed from the recent buffer.
        """
        sub = _Subscriber(asyncio.Queue(self.queue_size), visible)
        if last_event_id is not None:
            for event in self._recent:
                if event.id > last_event_id and visible(event.data.get("alert", {})):
                    if sub.queue.full():
                        sub.queue.get_nowait()
                        sub.dropped += 1
                    sub.queue.put_nowait(event)
        self._subscribers.append(sub)
        return Subscription(self, sub)

    def _close(self, sub: _Subscriber) -> None:
        if sub in self._subscribers:
            self._subscribers.remove(sub)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)


class Subscription:
    def __init__(self, stream: AlertStream, sub: _Subscriber) -> None:
        self._stream = stream
        self._sub = sub

    @property
    def dropped(self) -> int:
        return self._sub.dropped

    def pending(self) -> int:
        return self._sub.queue.qsize()

    async def next_frame(self, keepalive_s: float = 15.0) -> str:
        """The next SSE frame, or a keepalive comment after `keepalive_s` of silence."""
        try:
            event = await asyncio.wait_for(self._sub.queue.get(), timeout=keepalive_s)
        except TimeoutError:
            return KEEPALIVE  # keeps proxies from closing an idle stream
        return format_sse(event)

    async def frames(self, keepalive_s: float = 15.0) -> AsyncGenerator[str, None]:
        """For StreamingResponse: frames until the client goes away."""
        try:
            while True:
                yield await self.next_frame(keepalive_s)
        finally:
            self.close()

    def close(self) -> None:
        self._stream._close(self._sub)
