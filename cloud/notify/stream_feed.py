"""Feeding the API's SSE stream from the database: LISTEN for alert changes, publish them.

The alert worker saves alerts in another process; `PgAlertStore.save` sends
`NOTIFY "fhy_alerts.<schema>", '<uid>:<step>'` in the same transaction. This feed holds one
dedicated connection in a thread, loads the changed alert and hands the event to the
stream on the event loop. If the connection drops it reconnects with backoff and logs the
outage once.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from psycopg import sql

from cloud.alerts.store_pg import PgAlertStore, notify_channel
from cloud.db.connection import connect
from cloud.notify.stream import AlertStream

log = logging.getLogger(__name__)


class AlertFeed:
    def __init__(
        self, url: str, schema: str, stream: AlertStream, loop: asyncio.AbstractEventLoop
    ) -> None:
        self.url, self.schema = url, schema
        self.stream = stream
        self.loop = loop
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self.delivered = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="alert-feed", daemon=True)
        self._thread.start()

    def wait_ready(self, timeout: float = 10.0) -> bool:
        """True once LISTEN is in place (changes from then on are not missed)."""
        return self._ready.wait(timeout)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        delay, down = 1.0, False
        while not self._stop.is_set():
            try:
                with connect(self.url, self.schema, autocommit=True) as conn:
                    conn.execute(
                        sql.SQL("LISTEN {}").format(sql.Identifier(notify_channel(self.schema)))
                    )
                    if down:
                        log.warning("alert feed: database back")
                    delay, down = 1.0, False
                    self._ready.set()
                    store = PgAlertStore(conn)
                    while not self._stop.is_set():
                        # Drain first: the connection cannot run a query inside notifies().
                        for note in list(conn.notifies(timeout=1.0)):
                            self._forward(store, note.payload)
            except Exception as exc:  # any connection trouble: back off and listen again
                if not down:
                    log.warning("alert feed: database unavailable (%s); retrying", exc)
                down = True
                self._stop.wait(delay)
                delay = min(delay * 2, 30.0)

    def _forward(self, store: PgAlertStore, payload: str) -> None:
        uid, _, action = payload.partition(":")
        alert = store.get(uid)
        if alert is None:
            return
        data: dict[str, Any] = {
            "kind": action,
            "at": (alert.audit[-1].at if alert.audit else alert.opened_at).isoformat(),
            "state": alert.state.value,
            "alert": alert.to_dict(),
        }
        self.loop.call_soon_threadsafe(self.stream.publish_data, data)
        self.delivered += 1
