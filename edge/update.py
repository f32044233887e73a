"""Over-the-air agent updates on the gateway: verify, install beside, restart, judge, roll back.

The cloud publishes a retained ``release/desired`` per gateway (protocol.ReleaseDesired). The
`Updater` fetches the bundle, checks the Ed25519 signature over the manifest with the programme's
public key and the bundle's size and sha256 against the signed manifest, unpacks it beside the
running version (edge.release_dirs), puts the new version on trial and asks for a restart. The
new process reports `running_new` and, once it is connected, has had a heartbeat acknowledged and
reads its sensors, `healthy`; past the deadline it switches back by itself and reports
`rolled_back` with what was missing. Every step is reported on ``release/state``.

Pure of I/O except the disk it owns: fetching, reporting and restarting are handed in.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from edge.release_dirs import BASE, InstallError, ReleaseDirs, Trial
from protocol import DecodeError, Kind, ReleaseDesired, ReleaseManifest, decode
from protocol.messages import MAJOR
from protocol.release import canonical

log = logging.getLogger(__name__)

DEFAULT_HEALTH_DEADLINE_S = 600.0


class Refused(Exception):
    """The release must not be installed; the reason is reported to the cloud."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def load_public_key(data: bytes) -> Ed25519PublicKey:
    """The programme's release key: PEM (``fuhuiyang release keygen``) or 32 raw bytes in base64."""
    text = data.strip()
    if text.startswith(b"-----BEGIN"):
        key = load_pem_public_key(text)
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("the release key is not an Ed25519 public key")
        return key
    try:
        raw = base64.b64decode(text, validate=True)
    except binascii.Error:
        raise ValueError("the release key is neither PEM nor base64") from None
    if len(raw) != 32:
        raise ValueError(f"an Ed25519 public key is 32 bytes, this one {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)


def verify(manifest: ReleaseManifest, signature: str | None, bundle: bytes, key: Ed25519PublicKey) -> None:
    """Raise Refused unless the programme signed this manifest and the bundle is the one it names."""
    if not signature:
        raise Refused("unsigned release")
    try:
        raw = base64.b64decode(signature, validate=True)
    except binascii.Error:
        raise Refused("the signature is not base64") from None
    try:
        key.verify(raw, canonical(manifest))
    except InvalidSignature:
        raise Refused("the signature does not match the programme's release key") from None
    if len(bundle) != manifest.size:
        raise Refused(f"the bundle is {len(bundle)} bytes, the signed manifest says {manifest.size}")
    digest = hashlib.sha256(bundle).hexdigest()
    if digest != manifest.sha256:
        raise Refused(f"the bundle's sha256 {digest[:12]}… is not the signed {manifest.sha256[:12]}…")
    major = manifest.min_protocol.partition(".")[0]
    if major != str(MAJOR):
        raise Refused(f"the release speaks protocol {manifest.min_protocol}, this agent {MAJOR}.x")


@dataclass(frozen=True)
class Signals:
    """What "healthy" means for a new version (docs/edge.md, OTA)."""

    connected: bool
    heartbeat_acked: bool
    sensors_reading: bool

    def missing(self) -> list[str]:
        names = {"connected": "no broker connection", "heartbeat_acked": "no heartbeat acknowledged",
                 "sensors_reading": "sensors not read"}
        return [text for field, text in names.items() if not getattr(self, field)]


# (state, version, rollout_id, running, reason)
Report = Callable[[str, str, int, str, str | None], None]


class Updater:
    def __init__(self, gateway_id: str, dirs: ReleaseDirs, key: Ed25519PublicKey | None,
                 fetch: Callable[[str], bytes], report: Report, restart: Callable[[], None], *,
                 health_deadline_s: float = DEFAULT_HEALTH_DEADLINE_S) -> None:
        self.gateway_id = gateway_id
        self.dirs = dirs
        self.key = key
        self.fetch = fetch
        self.report = report
        self.restart = restart
        self.health_deadline_ms = int(health_deadline_s * 1000)
        self.desired: ReleaseDesired | None = None
        # The desired message settled in this process: (rollout, version, signature). A refused one is
        # not remembered on disk: an unauthenticated message must not bar the genuine release.
        self._done: tuple[int, str, str | None] | None = None
        self.restart_requested = False

    @property
    def failed_path(self) -> Path:
        return self.dirs.root / "failed.json"

    def failed(self) -> dict[str, str]:
        """Versions that were installed and rolled back here: a retained desired message for them is
        not retried on every reconnect (a fixed release gets a new version)."""
        try:
            doc = json.loads(self.failed_path.read_text())
        except (OSError, ValueError):
            return {}
        return {str(k): str(v) for k, v in doc.items()} if isinstance(doc, dict) else {}

    def _mark_failed(self, version: str, reason: str) -> None:
        failed = self.failed() | {version: reason}
        self.dirs.root.mkdir(parents=True, exist_ok=True)
        tmp = self.failed_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(failed))
        tmp.replace(self.failed_path)

    # --- lifecycle --------------------------------------------------------------------
    def on_boot(self) -> None:
        """After a start: report how the last trial ended (boot_check may have rolled back), or
        that a version on trial is running."""
        outcome = self.dirs.outcome()
        if outcome is not None:
            if outcome.state == "rolled_back":
                self._mark_failed(outcome.version, outcome.reason or "rolled back")
            self.report(outcome.state, outcome.version, outcome.rollout_id, outcome.running, outcome.reason)
            self.dirs.save_outcome(None)
        trial = self.dirs.trial()
        if trial is not None:
            self.report("running_new", trial.version, trial.rollout_id, self.dirs.running(), None)

    def on_desired(self, payload: bytes) -> None:
        try:
            desired: ReleaseDesired = decode(Kind.RELEASE_DESIRED, payload)
        except DecodeError as exc:
            log.warning("ignoring a release/desired that does not decode: %s", exc)
            return
        if desired.gateway_id != self.gateway_id:
            log.warning("ignoring a release/desired addressed to %s", desired.gateway_id)
            return
        self.desired = desired

    def pending(self) -> bool:
        """Whether `apply` has work (cheap; the agent runs `apply` off its loop when it has)."""
        desired = self.desired
        if desired is None or self.restart_requested or self.dirs.trial() is not None:
            return False
        return _identity(desired) != self._done

    def apply(self, now_ms: int) -> None:
        """Bring the running release to the desired one: fetch, verify, install beside, switch,
        restart. Blocking (the download); call it off the agent's loop."""
        desired = self.desired
        if desired is None or not self.pending():
            return
        manifest = desired.release
        target = manifest.version if manifest else BASE
        rollout = desired.rollout_id
        running = self.dirs.running()
        if target == running:
            self._done = _identity(desired)
            self.report("healthy", target, rollout, running, None)  # a returning gateway confirms
            return
        if target in self.failed():
            self._done = _identity(desired)
            log.info("release %s failed here before; not retried", target)
            return
        if manifest is not None and not self.dirs.installed(target):
            try:
                self._download_and_install(desired, manifest, running)
            except Refused as exc:
                self._done = _identity(desired)
                self.report("refused", target, rollout, running, exc.reason)
                return
            except (OSError, ValueError) as exc:  # network, disk: retried on the next apply
                self.report("failed", target, rollout, running, f"{type(exc).__name__}: {exc}"[:400])
                return
        self.report("installing", target, rollout, running, None)
        trial = Trial(target, running, rollout, now_ms, now_ms + self.health_deadline_ms)
        self.dirs.save_trial(trial)  # before the switch: boot_check then always knows the way back
        self.dirs.switch(target)
        self.restart_requested = True
        self.restart()

    def _download_and_install(self, desired: ReleaseDesired, manifest: ReleaseManifest, running: str) -> None:
        if self.key is None:
            raise Refused("no release key is provisioned on this gateway")
        if not desired.url:
            raise Refused("the desired release names no bundle URL")
        self.report("downloading", manifest.version, desired.rollout_id, running, None)
        bundle = self.fetch(desired.url)
        verify(manifest, desired.signature, bundle, self.key)
        self.report("verified", manifest.version, desired.rollout_id, running, None)
        try:
            self.dirs.install(manifest, bundle)
        except InstallError as exc:
            raise Refused(str(exc)) from None

    def check_health(self, signals: Signals, now_ms: int) -> None:
        """On trial: healthy once every signal holds; past the deadline, back to the previous one."""
        trial = self.dirs.trial()
        if trial is None or self.restart_requested:
            return
        missing = signals.missing()
        if not missing:
            self.dirs.save_trial(None)
            self.dirs.prune({trial.version, trial.previous})
            if self.desired is not None:
                self._done = _identity(self.desired)
            self.report("healthy", trial.version, trial.rollout_id, trial.version, None)
            return
        if now_ms > trial.deadline_ms:
            reason = f"not healthy within {self.health_deadline_ms // 1000} s: {', '.join(missing)}"
            outcome = self.dirs.roll_back(trial, reason)
            self.dirs.save_outcome(None)
            self._mark_failed(trial.version, reason)
            self.report("rolled_back", trial.version, trial.rollout_id, outcome.running, reason)
            self.restart_requested = True
            self.restart()


def _identity(desired: ReleaseDesired) -> tuple[int, str, str | None]:
    return desired.rollout_id, desired.release.version if desired.release else BASE, desired.signature
