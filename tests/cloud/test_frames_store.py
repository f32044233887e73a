"""Content-addressed frame stores: local directory and S3-compatible (moto's S3 server over HTTP)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from cloud.frames_store import LocalFrameStore, S3FrameStore, open_frame_store
from tests.support.moto_s3 import moto_s3

JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) + b"\xff\xd9"


def test_local_store_is_content_addressed_and_idempotent(tmp_path: Path) -> None:
    store = LocalFrameStore(tmp_path)
    first = store.put(JPEG)
    again = store.put(JPEG, first.sha256)
    digest = hashlib.sha256(JPEG).hexdigest()
    assert first == again and first.path == f"{digest[:2]}/{digest[2:4]}/{digest}.jpg"
    assert store.read(first.path) == JPEG
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [f"{digest}.jpg"]  # no temp files left
    with pytest.raises(ValueError):
        store.read("../../etc/passwd")


@pytest.fixture
def s3_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with moto_s3(monkeypatch, bucket=None) as endpoint:
        yield endpoint


def test_s3_store_puts_once_and_reads_back(s3_endpoint: str, tmp_path: Path) -> None:
    import boto3

    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket="fhy-frames")
    store = open_frame_store(tmp_path, "s3://fhy-frames/farm-frames", s3_endpoint)
    assert isinstance(store, S3FrameStore)
    stored = store.put(JPEG)
    again = store.put(JPEG)
    digest = hashlib.sha256(JPEG).hexdigest()
    assert stored == again
    assert stored.path == f"s3://fhy-frames/farm-frames/{digest[:2]}/{digest[2:4]}/{digest}.jpg"
    assert store.read(stored.path) == JPEG
    keys = [o["Key"] for o in boto3.client("s3", endpoint_url=s3_endpoint)
            .list_objects_v2(Bucket="fhy-frames")["Contents"]]
    assert keys == [stored.path.removeprefix("s3://fhy-frames/")]
    assert not list(tmp_path.iterdir())  # nothing written locally


def test_s3_store_reads_a_missing_frame_as_missing(s3_endpoint: str, tmp_path: Path) -> None:
    import boto3

    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket="fhy-frames")
    store = open_frame_store(tmp_path, "s3://fhy-frames", s3_endpoint)
    with pytest.raises(FileNotFoundError):  # as a missing file on disk: one error for callers
        store.read(f"s3://fhy-frames/{'00' * 32}.jpg")
    with pytest.raises(ValueError):
        store.read("ab/cd/abcd.jpg")  # a local path is not this store's
