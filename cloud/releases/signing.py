"""Signing agent releases with the programme's Ed25519 key (docs/security.md, release keys).

The private key stays with the programme office (a file of mode 0600, ideally on an offline
machine); gateways hold only the public key, provisioned with their config. A release is the
bundle plus ``<bundle>.release.json``: the manifest and the base64 signature over its canonical
bytes (protocol.release), which include the bundle's sha256 and size.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import ValidationError

from protocol import ReleaseManifest
from protocol.messages import SCHEMA_VERSION
from protocol.release import canonical


class SigningError(ValueError):
    """A key or release file that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class SignedRelease:
    manifest: ReleaseManifest
    signature: str  # base64

    def to_json(self) -> str:
        return json.dumps({"manifest": self.manifest.model_dump(mode="json"), "signature": self.signature},
                          indent=2, sort_keys=True)


def keygen(private_path: Path, public_path: Path) -> None:
    """A new programme key pair; refuses to overwrite a private key."""
    if private_path.exists():
        raise SigningError(f"{private_path} exists; a release key is never overwritten")
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    private_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(private_pem)
    public_path.write_bytes(public_pem(key.public_key()))


def public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise SigningError(f"{path}: no such key file") from None
    except (ValueError, TypeError) as exc:
        raise SigningError(f"{path}: not a PEM private key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningError(f"{path}: not an Ed25519 key")
    return key


def manifest_for(bundle: bytes, name: str, version: str, *, min_protocol: str = SCHEMA_VERSION,
                 created_ms: int | None = None) -> ReleaseManifest:
    try:
        return ReleaseManifest(name=name, version=version, sha256=hashlib.sha256(bundle).hexdigest(),
                               size=len(bundle), min_protocol=min_protocol,
                               created_at=created_ms if created_ms is not None else int(time.time() * 1000))
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise SigningError(f"release {name} {version}: {problems}") from None


def sign(manifest: ReleaseManifest, key: Ed25519PrivateKey) -> SignedRelease:
    return SignedRelease(manifest, base64.b64encode(key.sign(canonical(manifest))).decode())


def sign_bundle(bundle_path: Path, key_path: Path, version: str, *, min_protocol: str = SCHEMA_VERSION) -> Path:
    """Write ``<bundle>.release.json`` beside the bundle; return its path."""
    try:
        bundle = bundle_path.read_bytes()
    except FileNotFoundError:
        raise SigningError(f"{bundle_path}: no such bundle") from None
    signed = sign(manifest_for(bundle, bundle_path.name, version, min_protocol=min_protocol),
                  load_private_key(key_path))
    out = bundle_path.with_name(bundle_path.name + ".release.json")
    out.write_text(signed.to_json())
    return out


def load_signed(path: Path) -> SignedRelease:
    try:
        doc = json.loads(path.read_text())
        return SignedRelease(ReleaseManifest.model_validate(doc["manifest"]), str(doc["signature"]))
    except FileNotFoundError:
        raise SigningError(f"{path}: no such release file") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise SigningError(f"{path}: not a release file ({str(exc)[:200]})") from None
