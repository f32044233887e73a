"""A real local HTTP server that plays an SMS provider: records every request, can be "down"."""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int


@dataclass
class SmsServer:
    down: bool = False  # answer 503
    reject: bool = False  # answer 400 (permanent)
    aliyun_code: str = "OK"
    requests: list[Recorded] = field(default_factory=list)
    accepted: Counter[str] = field(default_factory=Counter)  # idempotency key -> times accepted
    lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> SmsServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                status, answer = owner._answer(self.path, dict(self.headers), body)
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _answer(
        self, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any]]:
        with self.lock:
            if self.down:
                status, answer = 503, {"error": "maintenance"}
            elif self.reject:
                status, answer = 400, {"error": "invalid number"}
            else:
                status, answer = self._accept(path, headers, body)
            self.requests.append(Recorded(path, headers, body, status))
            return status, answer

    def _accept(
        self, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any]]:
        n = len(self.requests)
        if path.endswith("/Messages.json"):  # Twilio
            form = dict(urllib.parse.parse_qsl(body.decode()))
            self.accepted[form["Body"]] += 1
            return 201, {"sid": f"SM{n:032d}", "status": "queued"}
        if path.startswith("/aliyun"):
            form = dict(urllib.parse.parse_qsl(body.decode()))
            if self.aliyun_code != "OK":
                return 200, {"Code": self.aliyun_code, "Message": "no", "RequestId": "r"}
            self.accepted[form["OutId"]] += 1
            return 200, {"Code": "OK", "BizId": f"biz{n}", "RequestId": "r", "Message": "OK"}
        key = headers.get("Idempotency-Key", "")
        self.accepted[key] += 1
        return 200, {"id": f"msg-{n}"}
