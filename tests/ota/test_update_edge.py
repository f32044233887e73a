"""The gateway's side of an update on a real filesystem: verification, install beside the running
version, restart into it, healthy or back to the previous version by itself."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cloud.releases.signing import public_pem
from edge.release_dirs import BASE, ReleaseDirs, boot_check
from edge.update import Refused, Signals, Updater, load_public_key, verify
from protocol import ReleaseDesired, encode
from tests.ota.bundles import signed, tarball

HEALTHY = Signals(connected=True, heartbeat_acked=True, sensors_reading=True)
NO_SENSORS = Signals(connected=True, heartbeat_acked=True, sensors_reading=False)
NOW = int(time.time() * 1000)


def test_signature_good_tampered_and_wrong_key() -> None:
    key, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    bundle, release = signed("1.1.0", key)
    public = load_public_key(public_pem(key.public_key()))
    verify(release.manifest, release.signature, bundle, public)  # good: no exception
    tampered = bytearray(bundle)
    tampered[-5] ^= 0xFF
    with pytest.raises(Refused, match="sha256"):
        verify(release.manifest, release.signature, bytes(tampered), public)
    with pytest.raises(Refused, match="bytes"):
        verify(release.manifest, release.signature, bundle + b"x", public)
    _, by_other = signed("1.1.0", other)
    with pytest.raises(Refused, match="does not match"):
        verify(by_other.manifest, by_other.signature, bundle, public)
    with pytest.raises(Refused, match="unsigned"):
        verify(release.manifest, None, bundle, public)
    # A manifest edited after signing (another sha for a swapped bundle) no longer verifies.
    swapped = tarball({"evil": b"x"})
    forged = release.manifest.model_copy(update={"sha256": __import__("hashlib").sha256(swapped).hexdigest(),
                                                 "size": len(swapped)})
    with pytest.raises(Refused, match="does not match"):
        verify(forged, release.signature, swapped, public)


class Harness:
    def __init__(self, root: Path, key: Ed25519PrivateKey, bundles: dict[str, bytes]) -> None:
        self.dirs = ReleaseDirs(root)
        self.bundles = bundles
        self.reports: list[tuple[str, str, str | None]] = []
        self.restarts = 0
        self.updater = self.boot(key)

    def boot(self, key: Ed25519PrivateKey) -> Updater:
        """A (re)started agent process: a fresh Updater on the same disk."""
        self.key = key
        updater = Updater("gw-1", self.dirs, load_public_key(public_pem(key.public_key())),
                          self.bundles.__getitem__, self._report, self._restart, health_deadline_s=60)
        updater.on_boot()
        return updater

    def _report(self, state: str, version: str, rollout: int, running: str, reason: str | None) -> None:
        self.reports.append((state, version, reason))

    def _restart(self) -> None:
        self.restarts += 1

    def states(self) -> list[str]:
        return [s for s, _, _ in self.reports]


def desired(release: object, rollout: int = 1) -> bytes:
    manifest = getattr(release, "manifest", None)
    return encode(ReleaseDesired(gateway_id="gw-1", seq=0, rollout_id=rollout, issued_at=NOW, release=manifest,
                                 signature=getattr(release, "signature", None),
                                 url=f"/bundle/{manifest.version}" if manifest else None))


def test_install_beside_then_healthy(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    bundle, release = signed("1.1.0", key)
    h = Harness(tmp_path / "agent", key, {"/bundle/1.1.0": bundle})
    h.updater.on_desired(desired(release))
    h.updater.apply(NOW)
    assert h.states() == ["downloading", "verified", "installing"] and h.restarts == 1
    assert h.dirs.running() == "1.1.0"
    assert (tmp_path / "agent/versions/1.1.0/fuhuiyang_agent/VERSION").read_bytes() == b"1.1.0"
    assert (tmp_path / "agent/current").is_symlink()
    assert boot_check(h.dirs, NOW + 1000) is None  # the service's pre-start check: first boot, in time
    h.updater = h.boot(key)
    assert h.states()[-1] == "running_new"
    h.updater.check_health(NO_SENSORS, NOW + 5000)  # not yet: sensors not read, deadline not passed
    assert h.states()[-1] == "running_new"
    h.updater.check_health(HEALTHY, NOW + 6000)
    assert h.states()[-1] == "healthy" and h.dirs.trial() is None and h.dirs.running() == "1.1.0"


def test_not_healthy_rolls_back_by_itself(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    old_bundle, old = signed("1.0.0", key)
    new_bundle, new = signed("1.1.0", key)
    h = Harness(tmp_path / "agent", key, {"/bundle/1.0.0": old_bundle, "/bundle/1.1.0": new_bundle})
    h.updater.on_desired(desired(old))
    h.updater.apply(NOW)
    h.updater = h.boot(key)
    h.updater.check_health(HEALTHY, NOW)
    assert h.dirs.running() == "1.0.0"
    h.updater.on_desired(desired(new, rollout=2))
    h.updater.apply(NOW)
    h.updater = h.boot(key)
    assert h.dirs.running() == "1.1.0"
    h.updater.check_health(NO_SENSORS, NOW + 61_000)  # past the 60 s deadline
    assert h.reports[-1][0] == "rolled_back" and "sensors not read" in (h.reports[-1][2] or "")
    assert h.dirs.running() == "1.0.0" and (tmp_path / "agent/versions/1.0.0").is_dir()
    # The retained desired message comes again after the restart: not retried.
    h.updater = h.boot(key)
    h.updater.on_desired(desired(new, rollout=2))
    h.updater.apply(NOW)
    assert h.dirs.running() == "1.0.0" and h.restarts == 3


def test_crash_loop_is_rolled_back_by_the_boot_check(tmp_path: Path) -> None:
    """A release that dies before its own code runs never judges itself: the installed agent's
    pre-start check counts its boots and switches back."""
    key = Ed25519PrivateKey.generate()
    bundle, release = signed("2.0.0", key)
    h = Harness(tmp_path / "agent", key, {"/bundle/2.0.0": bundle})
    h.updater.on_desired(desired(release))
    h.updater.apply(NOW)
    assert h.dirs.running() == "2.0.0"
    outcomes = [boot_check(h.dirs, NOW + i) for i in range(1, 5)]
    assert outcomes[:3] == [None, None, None] and outcomes[3] is not None
    assert h.dirs.running() == BASE and not (tmp_path / "agent/current").exists()
    h.updater = h.boot(key)  # the installed agent starts and reports the rollback
    assert h.reports[-1][0] == "rolled_back" and "restarted 3 times" in (h.reports[-1][2] or "")


def test_tampered_and_wrong_key_bundles_are_refused_and_reported(tmp_path: Path) -> None:
    key, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    bundle, release = signed("1.2.0", key)
    tampered = bundle[:-1] + bytes([bundle[-1] ^ 1])
    h = Harness(tmp_path / "agent", key, {"/bundle/1.2.0": tampered})
    h.updater.on_desired(desired(release))
    h.updater.apply(NOW)
    assert h.reports[-1][0] == "refused" and "sha256" in (h.reports[-1][2] or "")
    assert h.dirs.running() == BASE and not h.dirs.installed("1.2.0") and h.restarts == 0
    _, foreign = signed("1.3.0", other)
    h.bundles["/bundle/1.3.0"] = bundle
    h.updater.on_desired(desired(foreign, rollout=2))
    h.updater.apply(NOW)
    assert h.reports[-1][0] == "refused" and "release key" in (h.reports[-1][2] or "")


def test_a_bundle_escaping_its_directory_is_refused(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    bundle, release = signed("1.4.0", key, {"../../escape": b"x"})
    h = Harness(tmp_path / "agent", key, {"/bundle/1.4.0": bundle})
    h.updater.on_desired(desired(release))
    h.updater.apply(NOW)
    assert h.reports[-1][0] == "refused" and "outside" in (h.reports[-1][2] or "")
    assert not (tmp_path / "escape").exists() and h.dirs.running() == BASE


def test_a_forged_release_does_not_bar_the_genuine_one(tmp_path: Path) -> None:
    """Refusals are not remembered by version: whoever can publish an unsigned message must not be
    able to make gateways refuse the programme's real release of that version."""
    key, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    bundle, genuine = signed("3.0.0", key)
    _, forged = signed("3.0.0", other)
    h = Harness(tmp_path / "agent", key, {"/bundle/3.0.0": bundle})
    h.updater.on_desired(desired(forged, rollout=7))
    h.updater.apply(NOW)
    assert h.reports[-1][0] == "refused" and not h.updater.pending()
    h.updater.on_desired(desired(genuine, rollout=7))
    h.updater.apply(NOW)
    assert h.states()[-3:] == ["downloading", "verified", "installing"] and h.dirs.running() == "3.0.0"


def test_a_remote_config_cannot_change_the_release_key() -> None:
    """The trusted key is local only: a desired config naming `update` is rejected on the gateway."""
    import json

    from edge.remote import evaluate

    base = {"gateway_id": "gw-1", "update": {"api_url": "https://api.example.org",
                                             "public_key_file": "/etc/fuhuiyang/release.pub"}}
    payload = json.dumps({"v": "1.3", "gateway_id": "gw-1", "seq": 0, "version": 2, "issued_at": NOW,
                          "config": {"update": {"public_key_file": "/tmp/attacker.pub"}}}).encode()
    decision = evaluate(payload, base, "gw-1", 1)
    assert decision.status == "rejected" and "update" in (decision.error or "")
