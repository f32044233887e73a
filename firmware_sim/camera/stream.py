"""Serve a `HouseScene` as a camera: MJPEG over HTTP, or a directory of `<event_ts_ms>.jpg`.

HTTP: `/stream.mjpg` (multipart/x-mixed-replace, what OpenCV's VideoCapture and browsers
read) and `/snapshot.jpg` (the latest frame). A `FrameSource` owns the scene and the clock:
each call to `tick()` advances event time and renders one frame; the server only reads the
latest JPEG, so many viewers cost one render per tick.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from firmware_sim.camera.render import encode_jpeg
from firmware_sim.camera.scene import Frame, HouseScene

log = logging.getLogger(__name__)
BOUNDARY = "fuhuiyangframe"


class FrameSource:
    """The scene plus the latest encoded frame; `tick` is called by whoever owns the clock."""

    def __init__(
        self,
        scene: HouseScene,
        start_ms: int,
        interval_ms: int,
        lights_on: Callable[[int], bool] = lambda ts: True,
    ) -> None:
        self.scene = scene
        self.ts_ms = start_ms
        self.interval_ms = interval_ms
        self.lights_on = lights_on
        self._cond = threading.Condition()
        self._jpeg: bytes | None = None
        self._frame: Frame | None = None
        self._closed = False

    def tick(self) -> Frame:
        """Advance one interval of event time and render the frame at the new time."""
        self.scene.advance(self.interval_ms / 1000.0)
        self.ts_ms += self.interval_ms
        frame = self.scene.frame(self.ts_ms, lights_on=self.lights_on(self.ts_ms))
        jpeg = encode_jpeg(frame.rgb, frame.jpeg_quality)
        with self._cond:
            self._frame, self._jpeg = frame, jpeg
            self._cond.notify_all()
        return frame

    def latest(self) -> tuple[Frame | None, bytes | None]:
        with self._cond:
            return self._frame, self._jpeg

    def wait_next(self, after: bytes | None, timeout: float = 5.0) -> bytes | None:
        with self._cond:
            self._cond.wait_for(lambda: self._closed or self._jpeg is not after, timeout)
            return None if self._closed else self._jpeg

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


def write_frame_dir(source: FrameSource, out: Path, count: int) -> list[Frame]:
    """Render `count` frames into `out` as `<event_ts_ms>.jpg` (with labels beside them)."""
    out.mkdir(parents=True, exist_ok=True)
    frames = []
    for _ in range(count):
        frame = source.tick()
        _, jpeg = source.latest()
        assert jpeg is not None
        tmp = out / f".{frame.ts_ms}.jpg.part"
        tmp.write_bytes(jpeg)
        tmp.replace(out / f"{frame.ts_ms}.jpg")  # readers never see half a file
        h, w = frame.rgb.shape[:2]
        (out / f"{frame.ts_ms}.txt").write_text(
            "".join(lab.yolo(w, h) + "\n" for lab in frame.labels)
        )
        frames.append(frame)
    return frames


def _handler(source: FrameSource) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
            log.debug("%s %s", self.address_string(), format % args)

        def do_GET(self) -> None:  # noqa: N802 - stdlib name
            path = self.path.split("?", 1)[0]
            if path == "/snapshot.jpg":
                _, jpeg = source.latest()
                if jpeg is None:
                    self.send_error(503, "no frame yet")
                    return
                self.send_response(200)
                self.send_header("Content-Type", "image/jpeg")
                self.send_header("Content-Length", str(len(jpeg)))
                self.end_headers()
                self.wfile.write(jpeg)
            elif path == "/stream.mjpg":
                self.send_response(200)
                self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                last: bytes | None = None
                try:
                    while True:
                        jpeg = source.wait_next(last)
                        if jpeg is None:
                            break
                        if jpeg is last:
                            continue
                        last = jpeg
                        self.wfile.write(
                            f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                            f"Content-Length: {len(jpeg)}\r\n\r\n".encode()
                        )
                        self.wfile.write(jpeg + b"\r\n")
                        self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    log.debug("viewer left")
            else:
                self.send_error(404)

    return Handler


class CameraServer:
    """An HTTP server for one `FrameSource` on a background thread."""

    def __init__(self, source: FrameSource, host: str = "127.0.0.1", port: int = 0) -> None:
        self.source = source
        self.httpd = ThreadingHTTPServer((host, port), _handler(source))
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> CameraServer:
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, name="camera-http", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.source.close()
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
