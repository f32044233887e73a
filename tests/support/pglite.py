"""The TimescaleDB test engine: PGlite + TimescaleDB (WASM) served by tests/pglite/server.mjs."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from fuhuiyang.services.net import free_port, wait_for_port

TESTS_DIR = Path(__file__).resolve().parent.parent
SERVER_SCRIPT = TESTS_DIR / "pglite" / "server.mjs"
NODE_MODULES = TESTS_DIR / "node_modules" / "@electric-sql" / "pglite"


def unavailable_reason() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed"
    if not NODE_MODULES.exists():
        return "npm test dependencies are missing: run `npm ci --prefix tests`"
    return None


class PgliteServer:
    def __init__(self) -> None:
        self.port = free_port()
        self._proc: subprocess.Popen[bytes] | None = None
        self._log = TESTS_DIR / ".pglite.log"

    @property
    def url(self) -> str:
        # PGlite's socket server speaks no TLS and wants a password (any).
        return f"postgresql://postgres:postgres@127.0.0.1:{self.port}/postgres?sslmode=disable"

    def start(self) -> None:
        with open(self._log, "wb") as log:
            self._proc = subprocess.Popen(
                ["node", str(SERVER_SCRIPT), str(self.port)], cwd=TESTS_DIR, stdout=log, stderr=log
            )
        try:
            wait_for_port("127.0.0.1", self.port, timeout=90)
        except TimeoutError:
            self.stop()
            raise RuntimeError(f"PGlite did not start: {self._log.read_text()[-2000:]}") from None

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
            self._proc = None
