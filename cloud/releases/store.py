"""Where release bundles live: a directory, content-addressed by sha256 like the frame store.

Bundles are few and small (an agent wheel is a few hundred kB); a directory on the API's disk
(or a volume shared by API replicas) is enough, and the content address makes a second upload
of the same bytes a no-op.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from cloud.frames_store import read_inside, write_once


def bundle_path(sha256: str) -> str:
    return f"{sha256[:2]}/{sha256}.bundle"


class ReleaseStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def put(self, data: bytes) -> str:
        """Store the bytes; the path relative to the root."""
        relative = bundle_path(hashlib.sha256(data).hexdigest())
        write_once(self.root / relative, data)
        return relative

    def read(self, relative: str) -> bytes:
        return read_inside(self.root, relative, "bundle")
