"""The agent's side of over-the-air updates: the `Updater` wired to the running agent.

Reports go through the outbox like every other message (they survive restarts and outages);
the download runs on its own thread so sampling never stalls; a restart is asked of the
service manager by leaving the loop with `RESTART_EXIT_CODE` (systemd's Restart=always starts
the agent again, after `fuhuiyang edge boot-check`).
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from pathlib import Path

from edge.bundle_fetch import HttpBundleFetcher
from edge.config import GatewayConfig
from edge.release_dirs import ReleaseDirs
from edge.update import Signals, Updater, load_public_key

log = logging.getLogger(__name__)

RESTART_EXIT_CODE = 75  # EX_TEMPFAIL: "start me again"

# (state, version, rollout_id, running, reason)
ReportItem = tuple[str, str, int, str, str | None]


class AgentUpdate:
    def __init__(self, config: GatewayConfig, password: str | None) -> None:
        settings = config.update
        assert settings is not None
        self.reports: queue.Queue[ReportItem] = queue.Queue()
        self.restart_wanted = threading.Event()
        self.dirs = ReleaseDirs(config.resolve(Path("agent")))
        key = None
        if settings.public_key_file is not None:
            try:
                key = load_public_key(settings.public_key_file.read_bytes())
            except (OSError, ValueError) as exc:  # every release is then refused, with this reason
                log.error("release key %s unusable: %s", settings.public_key_file, exc)
        fetch = HttpBundleFetcher(settings.api_url, config.mqtt.username or config.gateway_id, password or "",
                                  ca_file=settings.ca_file or config.mqtt.ca_file)
        self.updater = Updater(config.gateway_id, self.dirs, key, fetch, self._report, self.restart_wanted.set,
                               health_deadline_s=settings.health_deadline_s)
        self._worker: threading.Thread | None = None

    def _report(self, state: str, version: str, rollout: int, running: str, reason: str | None) -> None:
        self.reports.put((state, version, rollout, running, reason))

    def on_boot(self) -> None:
        self.updater.on_boot()

    def on_desired(self, payload: bytes) -> None:
        if payload:  # an empty retained message: the rollout was halted before reaching us
            self.updater.on_desired(payload)

    def step(self, signals: Signals, now_ms: int) -> None:
        """From the agent's loop: judge a trial; start the download off the loop when one is due."""
        if self._worker is not None and self._worker.is_alive():
            return
        self.updater.check_health(signals, now_ms)
        if self.updater.pending():
            self._worker = threading.Thread(target=self.updater.apply, args=(now_ms,), name="ota-apply", daemon=True)
            self._worker.start()


def release_pythonpath(config: GatewayConfig) -> str:
    """What the service puts on PYTHONPATH so the current release shadows the installed agent."""
    return os.fspath(config.resolve(Path("agent")) / "current")
