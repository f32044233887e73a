"""The bytes a release signature covers, shared by the signer (cloud) and the verifier (gateway).

The signature is Ed25519 over the manifest's canonical JSON: sorted keys, no whitespace, UTF-8.
The manifest carries the bundle's sha256 and size, so one signature covers the bundle too.
"""

from __future__ import annotations

import json

from protocol.messages import ReleaseManifest


def canonical(manifest: ReleaseManifest) -> bytes:
    return json.dumps(manifest.model_dump(mode="json"), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode()
