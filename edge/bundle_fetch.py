"""Downloading a release bundle from the cloud API over HTTPS with the gateway's broker login.

Why HTTP and not chunks over MQTT: a bundle is hundreds of kB against a 256 kB message limit,
HTTPS resumes nothing we need at that size, rides the same TLS trust as the API, and keeps bulk
bytes off the broker that carries every farm's telemetry (docs/edge.md, OTA).
"""

from __future__ import annotations

import base64
import ssl
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urljoin

MAX_BUNDLE_BYTES = 256 * 1024 * 1024


class HttpBundleFetcher:
    def __init__(self, base_url: str, username: str, password: str, *, ca_file: Path | None = None,
                 timeout_s: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        self._auth = f"Basic {token}"
        self.timeout_s = timeout_s
        self._context = ssl.create_default_context(cafile=str(ca_file)) if ca_file else None

    def __call__(self, url: str) -> bytes:
        """The bundle at `url` (a path on the API, or absolute). OSError on any failure."""
        target = urljoin(self.base_url, url.lstrip("/"))
        if not target.startswith(self.base_url):
            raise OSError(f"bundle URL {url!r} is not on the API {self.base_url}")
        request = urllib.request.Request(target, headers={"Authorization": self._auth})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s, context=self._context) as response:
                data: bytes = response.read(MAX_BUNDLE_BYTES + 1)
        except urllib.error.HTTPError as exc:
            raise OSError(f"bundle download answered HTTP {exc.code}") from None
        except urllib.error.URLError as exc:
            raise OSError(f"bundle download failed: {exc.reason}") from None
        if len(data) > MAX_BUNDLE_BYTES:
            raise OSError("bundle larger than 256 MiB")
        return data
