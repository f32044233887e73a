"""Agent releases on the gateway's disk: each version in its own directory beside the running one.

Layout under ``<data_dir>/agent``::

    versions/<version>/      the unpacked bundle (a wheel or tarball) and its manifest.json
    current -> versions/<v>  the release the agent runs; absent: the agent it was installed with
    trial.json               a new version on probation: previous version, deadline, boots
    outcome.json             what the last trial ended in, until it has been reported

The service starts the agent with ``PYTHONPATH=<data_dir>/agent/current`` so the packages of the
current release shadow the installed ones, and runs ``fuhuiyang edge boot-check`` from the
installed agent (never from a release) before every start: a release that crashes before its own
code can judge itself is still rolled back, by code it cannot break (docs/edge.md, OTA).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tarfile
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from protocol import ReleaseManifest

log = logging.getLogger(__name__)

MAX_BOOTS = 3  # starts of a version on trial before it is judged crashing
BASE = ""  # the version name of "no release: the installed agent"


class InstallError(RuntimeError):
    """The bundle cannot be unpacked safely (unknown format, a path outside its directory)."""


@dataclass
class Trial:
    version: str
    previous: str  # BASE when the installed agent ran before
    rollout_id: int
    started_ms: int
    deadline_ms: int
    boots: int = 0


@dataclass(frozen=True)
class Outcome:
    version: str
    rollout_id: int
    state: str  # healthy | rolled_back
    running: str
    reason: str | None = None


class ReleaseDirs:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.versions = root / "versions"
        self.current_link = root / "current"

    # --- what is there ---------------------------------------------------------------
    def running(self) -> str:
        """The version `current` points at (BASE when none)."""
        try:
            return Path(os.readlink(self.current_link)).name
        except FileNotFoundError:
            return BASE

    def installed(self, version: str) -> bool:
        return (self.versions / version / "manifest.json").is_file()

    # --- install beside, switch ------------------------------------------------------
    def install(self, manifest: ReleaseManifest, bundle: bytes) -> Path:
        """Unpack into versions/<version> through a partial directory, renamed when complete."""
        target = self.versions / manifest.version
        if self.installed(manifest.version):
            return target
        partial = self.versions / f".{manifest.version}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        archive = partial / ".bundle"
        archive.write_bytes(bundle)
        try:
            _unpack(archive, manifest.name, partial)
        except InstallError:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        archive.unlink()
        _write_synced(partial / "manifest.json", manifest.model_dump_json().encode())
        shutil.rmtree(target, ignore_errors=True)
        os.replace(partial, target)
        _sync_dir(self.versions)
        return target

    def switch(self, version: str) -> None:
        """Point `current` at `version` (BASE: remove it) atomically: a new link renamed over."""
        self.root.mkdir(parents=True, exist_ok=True)
        if version == BASE:
            self.current_link.unlink(missing_ok=True)
        else:
            if not self.installed(version):
                raise InstallError(f"version {version} is not installed")
            tmp = self.root / ".current.tmp"
            tmp.unlink(missing_ok=True)
            tmp.symlink_to(Path("versions") / version)
            os.replace(tmp, self.current_link)
        _sync_dir(self.root)

    def prune(self, keep: set[str]) -> list[str]:
        """Remove versions other than `keep` (the running one and the one to roll back to)."""
        removed = []
        if self.versions.is_dir():
            for entry in self.versions.iterdir():
                if entry.name not in keep and entry.is_dir():
                    shutil.rmtree(entry, ignore_errors=True)
                    removed.append(entry.name)
        return removed

    # --- trial and outcome -------------------------------------------------------------
    def trial(self) -> Trial | None:
        doc = _read_json(self.root / "trial.json")
        try:
            return Trial(**doc) if doc else None
        except TypeError:
            log.warning("ignoring an unreadable trial.json")
            return None

    def save_trial(self, trial: Trial | None) -> None:
        path = self.root / "trial.json"
        if trial is None:
            path.unlink(missing_ok=True)
        else:
            _write_synced(path, json.dumps(asdict(trial)).encode())

    def outcome(self) -> Outcome | None:
        doc = _read_json(self.root / "outcome.json")
        try:
            return Outcome(**doc) if doc else None
        except TypeError:
            return None

    def save_outcome(self, outcome: Outcome | None) -> None:
        path = self.root / "outcome.json"
        if outcome is None:
            path.unlink(missing_ok=True)
        else:
            _write_synced(path, json.dumps(asdict(outcome)).encode())

    def roll_back(self, trial: Trial, reason: str) -> Outcome:
        """Back to the version before the trial; the outcome waits on disk to be reported."""
        self.switch(trial.previous)
        outcome = Outcome(trial.version, trial.rollout_id, "rolled_back", trial.previous, reason)
        self.save_outcome(outcome)
        self.save_trial(None)
        log.warning("release %s rolled back to %s: %s", trial.version, trial.previous or "the installed agent",
                    reason)
        return outcome


def boot_check(dirs: ReleaseDirs, now_ms: int, max_boots: int = MAX_BOOTS) -> Outcome | None:
    """Before each start of the agent: count the trial's boots; past the deadline or after too
    many starts (a crash loop), switch back. Run by the installed agent, never by a release."""
    trial = dirs.trial()
    if trial is None:
        return None
    if dirs.running() != trial.version:  # switched away by hand: the trial is void
        dirs.save_trial(None)
        return None
    trial.boots += 1
    if now_ms > trial.deadline_ms:
        return dirs.roll_back(trial, f"not healthy within {(trial.deadline_ms - trial.started_ms) // 1000} s")
    if trial.boots > max_boots:
        return dirs.roll_back(trial, f"restarted {trial.boots - 1} times without becoming healthy")
    dirs.save_trial(trial)
    return None


def _unpack(archive: Path, name: str, dest: Path) -> None:
    """A wheel or zip (a pure-Python wheel unpacked is installed) or a tarball; nothing may land
    outside `dest`, no links, no devices."""
    root = dest.resolve()
    if name.endswith((".whl", ".zip")):
        try:
            with zipfile.ZipFile(archive) as zf:
                for info in zf.infolist():
                    if not (root / info.filename).resolve().is_relative_to(root):
                        raise InstallError(f"bundle member {info.filename!r} points outside its directory")
                zf.extractall(dest)
        except zipfile.BadZipFile as exc:
            raise InstallError(f"not a zip archive: {exc}") from None
    elif name.endswith((".tar.gz", ".tgz", ".tar")):
        try:
            with tarfile.open(archive) as tf:
                for member in tf.getmembers():
                    if not (member.isfile() or member.isdir()):
                        raise InstallError(f"bundle member {member.name!r} is not a file or directory")
                    if not (root / member.name).resolve().is_relative_to(root):
                        raise InstallError(f"bundle member {member.name!r} points outside its directory")
                tf.extractall(dest, filter="data")
        except tarfile.TarError as exc:
            raise InstallError(f"not a tar archive: {exc}") from None
    else:
        raise InstallError(f"unknown bundle format {name!r} (.whl, .zip, .tar.gz)")


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable %s: %s", path, exc)
        return None
    return doc if isinstance(doc, dict) else None


def _write_synced(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _sync_dir(path.parent)


def _sync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
