"""A local SMS gateway for the demo: keeps every SMS that reached a phone.

The demo's alert worker sends through the real Aliyun adapter to the local Aliyun fake
(cloud/notify/fakes/aliyun.py), which enforces Aliyun's rules (approved templates, variable
lengths, the signature, per-number limits) and hands each accepted SMS to this sink; what the
fake refused is counted. The generic HTTP endpoint stays for trying the `http` provider.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cloud.notify.fakes.aliyun import Delivered, FakeAliyunSms
from cloud.notify.providers import AliyunSmsProvider
from cloud.notify.templates import CATALOGUE
from fuhuiyang.services.net import free_port

DEMO_SIGN = "富慧养"


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

        self._fake: FakeAliyunSms | None = None
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

    def aliyun(self, now: Callable[[], datetime]) -> AliyunSmsProvider:
        """The Aliyun adapter, pointed at a local fake that delivers into this sink. `now` is
        the simulated clock, so Aliyun's per-day limits count simulated days."""
        fake = FakeAliyunSms(clock=now, signs={DEMO_SIGN}, on_delivered=self._delivered)
        self._fake = fake.start()
        return AliyunSmsProvider(fake.access_key_id, fake.access_key_secret, DEMO_SIGN,
                                 template_codes=fake.approve(CATALOGUE.values()), endpoint=fake.url, clock=now)

    @property
    def refused(self) -> dict[str, int]:
        """The provider's refusals by code (none, unless a message breaks Aliyun's rules)."""
        codes = self._fake.refused if self._fake is not None else []
        return {code: codes.count(code) for code in sorted(set(codes))}

    def _delivered(self, sent: Delivered) -> None:
        self.record({"to": "+86" + sent.phone, "text": sent.text, "id": sent.out_id, "template": sent.template_code})

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._fake is not None:
            self._fake.stop()
        self._server.shutdown()
        self._server.server_close()
