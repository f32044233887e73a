"""Content-addressed JPEG storage: a frame's path is derived from its SHA-256.

Writing the same image twice is a no-op, so a redelivered frame message never
creates a second file, and a crash between the file write and the database commit
leaves only an orphan that the next delivery adopts. A local directory by default;
S3-compatible object storage as an option.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class StoredFrame:
    sha256: str
    path: str  # relative to the store root, e.g. "ab/cd/abcd....jpg"
    size: int


class FrameStore(Protocol):
    def put(self, data: bytes, sha256: str | None = None) -> StoredFrame: ...

    def read(self, path: str) -> bytes: ...


@dataclass(frozen=True)
class StoredFile:
    path: str  # as `put` returns it, so it compares with `frames.path`
    size: int
    modified: datetime


@runtime_checkable
class PrunableFrameStore(FrameStore, Protocol):
    """A store whose files retention can list and delete (cloud/frames_retention.py)."""

    def files(self) -> Iterator[StoredFile]: ...

    def delete(self, path: str) -> bool:
        """Remove one frame; False when it was already gone (retention runs are idempotent)."""
        ...


def frame_path(sha256: str) -> str:
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}.jpg"


def write_once(target: Path, data: bytes) -> None:
    """Write a content-addressed file whole (temp file, fsync, rename), unless it is there."""
    if target.exists():
        return
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


def read_inside(root: Path, relative: str, what: str) -> bytes:
    """A stored file's bytes; a path that leads out of `root` is refused."""
    resolved = (root / relative).resolve()
    if root.resolve() not in resolved.parents:
        raise ValueError(f"{what} path escapes the store: {relative!r}")
    return resolved.read_bytes()


class LocalFrameStore:
    """Frames under a local directory (the default); atomic rename, no partial files."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def put(self, data: bytes, sha256: str | None = None) -> StoredFrame:
        digest = sha256 or hashlib.sha256(data).hexdigest()
        relative = frame_path(digest)
        write_once(self.root / relative, data)
        return StoredFrame(sha256=digest, path=relative, size=len(data))

    def read(self, path: str) -> bytes:
        return read_inside(self.root, path, "frame")

    def files(self) -> Iterator[StoredFile]:
        for file in self.root.glob("*/*/*.jpg"):
            if file.name.startswith(".tmp-"):
                continue
            try:
                stat = file.stat()
            except FileNotFoundError:  # deleted by a concurrent run
                continue
            yield StoredFile(file.relative_to(self.root).as_posix(), stat.st_size,
                             datetime.fromtimestamp(stat.st_mtime, UTC))

    def delete(self, path: str) -> bool:
        resolved = (self.root / path).resolve()
        if self.root.resolve() not in resolved.parents:
            raise ValueError(f"frame path escapes the store: {path!r}")
        try:
            resolved.unlink()
        except FileNotFoundError:
            return False
        return True


class S3FrameStore:
    """Frames in an S3-compatible bucket (MinIO, Aliyun OSS, AWS S3) under the same hash layout.

    `path` in the database is ``s3://bucket/key``. Needs boto3 (extra ``s3``); credentials come
    from the usual AWS_* environment variables.
    """

    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""

    @classmethod
    def from_url(cls, url: str, endpoint_url: str | None = None) -> S3FrameStore:
        import boto3

        parts = urlsplit(url)
        return cls(boto3.client("s3", endpoint_url=endpoint_url), parts.netloc, parts.path)

    def put(self, data: bytes, sha256: str | None = None) -> StoredFrame:
        from botocore.exceptions import ClientError

        digest = sha256 or hashlib.sha256(data).hexdigest()
        key = self.prefix + frame_path(digest)
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
                raise
            self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType="image/jpeg",
                                   Metadata={"sha256": digest})
        return StoredFrame(sha256=digest, path=f"s3://{self.bucket}/{key}", size=len(data))

    def read(self, path: str) -> bytes:
        parts = urlsplit(path)
        if parts.scheme != "s3" or parts.netloc != self.bucket:
            raise ValueError(f"not a frame of bucket {self.bucket!r}: {path!r}")
        from botocore.exceptions import ClientError

        key = parts.path.lstrip("/")
        try:
            body: bytes = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as exc:  # missing reads as it does on disk, so callers handle one error
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                raise FileNotFoundError(path) from exc
            raise
        return body

    def files(self) -> Iterator[StoredFile]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix)
        for page in pages:
            for item in page.get("Contents", []):
                key = str(item["Key"])
                if key.endswith(".jpg"):
                    yield StoredFile(f"s3://{self.bucket}/{key}", int(item["Size"]), item["LastModified"])

    def delete(self, path: str) -> bool:
        parts = urlsplit(path)
        if parts.scheme != "s3" or parts.netloc != self.bucket:
            raise ValueError(f"not a frame of bucket {self.bucket!r}: {path!r}")
        from botocore.exceptions import ClientError

        key = parts.path.lstrip("/")
        try:  # S3's delete succeeds for a missing key: ask first, so the count is honest
            self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        self.client.delete_object(Bucket=self.bucket, Key=key)
        return True


def open_frame_store(frames_dir: Path, s3_url: str | None = None, s3_endpoint: str | None = None) -> FrameStore:
    """The one place a frame store is chosen: S3 when `s3_url` is set, else the local directory.

    Ingest, detection and the API's photo route each get the store their composition root
    opened here, so a frame one of them writes is the frame the others read."""
    if s3_url:
        return S3FrameStore.from_url(s3_url, s3_endpoint)
    return LocalFrameStore(frames_dir)


def decode(data: bytes, flag: int) -> np.ndarray | None:
    """A stored frame's bytes as an image (`flag`: OpenCV's read flag, e.g. a reduced or grey
    decode); None when they are not an image. OpenCV is loaded here, not by the store."""
    if not data:
        return None  # OpenCV asserts on an empty buffer (a truncated upload) rather than answer None
    import cv2
    import numpy as np

    image = cv2.imdecode(np.frombuffer(data, np.uint8), flag)
    return None if image is None else np.asarray(image)
