"""The photo route reads through the frame store the app was given: S3 (moto's server) here."""

from __future__ import annotations

import json

import pytest

from cloud.frames_store import open_frame_store
from tests.api.conftest import make_world
from tests.support.databases import TestDatabase
from tests.support.moto_s3 import BUCKET, moto_s3
from tests.web.conftest import browser_login

JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4 + b"\xff\xd9"


def test_dead_bird_photos_come_from_the_apps_store(db: TestDatabase, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    with moto_s3(monkeypatch) as endpoint:
        store = open_frame_store(tmp_path, f"s3://{BUCKET}/frames", endpoint)
        stored = store.put(JPEG)
        for web in make_world(db, with_web=True, frames=store):
            record = web.ids["mortality"]["f1"]
            evidence = {"frame": stored.path, "crop": f"s3://{BUCKET}/frames/{'00' * 32}.jpg"}
            _set_evidence(web.db, record, evidence)
            client = browser_login(web.client, "farmer1")
            photo = client.get(f"/photos/{record}", params={"part": "frame"})
            assert photo.status_code == 200 and photo.content == JPEG
            assert photo.headers["content-type"] == "image/jpeg"
            assert client.get(f"/photos/{record}").status_code == 404  # not in the bucket
            # A local path (as the world seeds) is not this store's: not found, not a server error.
            _set_evidence(web.db, record, {**evidence, "crop": f"cd/ef/{'cd' * 32}.jpg"})
            assert client.get(f"/photos/{record}").status_code == 404
            assert browser_login(web.client, "farmer3").get(
                f"/photos/{record}", params={"part": "frame"}).status_code == 404


def _set_evidence(db: TestDatabase, record: int, evidence: dict[str, str]) -> None:
    with db.connect() as conn:
        conn.execute("UPDATE mortality_records SET evidence = %s WHERE id = %s", (json.dumps(evidence), record))
        conn.commit()
