"""Where release bundles live: a directory, content-addressed by sha256 like the frame store.

Bundles are few and small (an agent wheel is a few hundred kB); a directory on the API's disk
(or a volume shared by API replicas) is enough, and the content address makes a second upload
of the same bytes a no-op.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


def bundle_path(sha256: str) -> str:
    return f"{sha256[:2]}/{sha256}.bundle"


class ReleaseStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def put(self, data: bytes) -> str:
        """Store the bytes; the path relative to the root."""
        relative = bundle_path(hashlib.sha256(data).hexdigest())
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
        return relative

    def read(self, relative: str) -> bytes:
        resolved = (self.root / relative).resolve()
        if self.root.resolve() not in resolved.parents:
            raise ValueError(f"bundle path escapes the store: {relative!r}")
        return resolved.read_bytes()
