"""Release bundles for the OTA tests: real tarballs signed with a key made for the test."""

from __future__ import annotations

import io
import tarfile

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cloud.releases.signing import SignedRelease, manifest_for, sign


def tarball(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def signed(version: str, key: Ed25519PrivateKey, files: dict[str, bytes] | None = None) -> tuple[bytes, SignedRelease]:
    bundle = tarball(files or {"fuhuiyang_agent/VERSION": version.encode()})
    return bundle, sign(manifest_for(bundle, f"agent-{version}.tar.gz", version), key)
