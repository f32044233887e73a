"""A local SMS gateway for the demo: accepts the generic HTTP provider's POSTs and keeps them."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from fuhuiyang.services.net import free_port


class SmsSink:
    def __init__(self, log_path: Path) -> None:
        self.messages: list[dict[str, Any]] = []
        self._log_path = log_path
        self._lock = threading.Lock()
        self.port = free_port()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length", "0"))
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except json.JSONDecodeError:
                    self.send_response(400)
                    self.end_headers()
                    return
                message_id = sink.record(body)
                answer = json.dumps({"id": message_id}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="sms-sink", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/sms"

    def record(self, body: dict[str, Any]) -> str:
        with self._lock:
            self.messages.append(body)
            with open(self._log_path, "a", encoding="utf-8") as out:
                out.write(json.dumps(body, ensure_ascii=False) + "\n")
            return f"sink-{len(self.messages)}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
