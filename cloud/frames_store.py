"""Content-addressed JPEG storage: a frame's path is derived from its SHA-256.

Writing the same image twice is a no-op, so a redelivered frame message never
creates a second file, and a crash between the file write and the database commit
leaves only an orphan that the next delivery adopts.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class StoredFrame:
    sha256: str
    path: str  # relative to the store root, e.g. "ab/cd/abcd....jpg"
    size: int


class FrameStore(Protocol):
    def put(self, data: bytes, sha256: str | None = None) -> StoredFrame: ...

    def read(self, path: str) -> bytes: ...


def frame_path(sha256: str) -> str:
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}.jpg"


class LocalFrameStore:
    """Frames under a local directory (the default); atomic rename, no partial files."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def put(self, data: bytes, sha256: str | None = None) -> StoredFrame:
        digest = sha256 or hashlib.sha256(data).hexdigest()
        relative = frame_path(digest)
        target = self.root / relative
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return StoredFrame(sha256=digest, path=relative, size=len(data))

    def read(self, path: str) -> bytes:
        resolved = (self.root / path).resolve()
        if self.root.resolve() not in resolved.parents:
            raise ValueError(f"frame path escapes the store: {path!r}")
        return resolved.read_bytes()
