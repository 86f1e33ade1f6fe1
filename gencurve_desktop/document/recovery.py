"""Autosave and recovery: project snapshots in a per-user recovery folder (platformdirs).

Each running instance of the desktop holds an :class:`InstanceLock` (an OS file lock that dies with the process)
and writes its snapshots under ``<document key>.ora`` with a sidecar naming the instance and the file the user
had open. At start, only snapshots whose instance is no longer alive are offered: a live instance's snapshot is
never offered, discarded or overwritten by another. A snapshot lives until its document is saved or the user
discards it.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import stat
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from gencurve_desktop.document.atomic import write_atomic
from gencurve_desktop.document.document import Document
from gencurve_desktop.document.file_lock import try_lock, unlock
from gencurve_desktop.document.ora import load_ora, save_ora
from gencurve_desktop.document.safe_files import inside, read_regular, safe_name
from gencurve_desktop.errors import BadInputError

AUTOSAVE_INTERVAL_S = 180
MAX_SIDECAR_BYTES = 64 * 1024


def recovery_dir() -> Path:
    """``$GENCURVE_RECOVERY_DIR`` or the user's data folder for GenCurve, ``.../recovery``."""
    override = os.environ.get("GENCURVE_RECOVERY_DIR")
    folder = Path(override) if override else Path(platformdirs.user_data_dir("GenCurve", "GenCurve")) / "recovery"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class InstanceLock:
    """An exclusive OS lock on ``instance-<id>.lock`` held for the life of this instance (released on exit/crash)."""

    def __init__(self, instance_id: str | None = None) -> None:
        self.id = instance_id or uuid.uuid4().hex[:12]
        self.path = recovery_dir() / f"instance-{self.id}.lock"
        self._file = open(self.path, "a+b")  # noqa: SIM115 - held open for the process's life
        if not try_lock(self._file):
            self._file.close()
            raise RuntimeError(f"instance {self.id} is already running")

    def release(self) -> None:
        """Drop the lock and its file (a clean exit)."""
        if not self._file.closed:
            unlock(self._file)
            self._file.close()
        with contextlib.suppress(OSError):
            self.path.unlink()


class DetachedInstance:
    """Stands in for :class:`InstanceLock` when the recovery folder cannot be used; ``problem`` says why."""

    def __init__(self, problem: str) -> None:
        self.id = uuid.uuid4().hex[:12]
        self.problem = problem

    def release(self) -> None:
        """Nothing to release."""


def instance_alive(instance_id: str | None) -> bool:
    """Whether a running process holds ``instance_id``'s lock (this process's own lock counts as alive)."""
    if not instance_id or not safe_name(instance_id):
        return False
    path = recovery_dir() / f"instance-{instance_id}.lock"
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return False  # a FIFO or link planted in its place is never opened (it could hang the start)
        flags = os.O_RDWR | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
        with os.fdopen(os.open(path, flags), "r+b") as f:
            if try_lock(f):
                unlock(f)
                return False
            return True
    except OSError:
        return False


@dataclass(frozen=True)
class RecoveryEntry:
    """One recovery snapshot: the .ora, the file it was a copy of, and the instance that wrote it."""

    path: Path
    document_key: str
    source: str | None  # the file the user had open, if any
    saved_at: float
    instance: str | None = None


def autosave(doc: Document, document_key: str, source: str | None = None, instance: str | None = None) -> RecoveryEntry:
    """Write (atomically) the recovery snapshot of the document identified by ``document_key``."""
    folder = recovery_dir()
    path = inside(folder, f"{document_key}.ora")
    save_ora(doc, path)
    return _write_meta(RecoveryEntry(path, document_key, source, time.time(), instance))


def _write_meta(entry: RecoveryEntry) -> RecoveryEntry:
    meta = {
        "document_key": entry.document_key,
        "source": entry.source,
        "saved_at": entry.saved_at,
        "instance": entry.instance,
    }
    sidecar = inside(recovery_dir(), f"{entry.document_key}.json")
    write_atomic(sidecar, lambda f: f.write(json.dumps(meta).encode()))
    return entry


def claim(entry: RecoveryEntry, instance: str) -> RecoveryEntry:
    """Make ``instance`` the owner of a snapshot it restored (so no other instance offers it again)."""
    return _write_meta(RecoveryEntry(entry.path, entry.document_key, entry.source, entry.saved_at, instance))


def list_recovery(include_live: bool = False) -> list[RecoveryEntry]:
    """Snapshots whose instance is gone (or all with ``include_live``), newest first.

    A sidecar is trusted for nothing that names a file: its snapshot is the .ora beside it with the same (safe)
    name, and a sidecar whose key differs from its own name, or that is not a small regular file, or whose
    fields have the wrong types, is skipped (never followed, never deleted)."""
    entries = []
    folder = recovery_dir()
    for meta_path in folder.glob("*.json"):
        entry = _read_sidecar(folder, meta_path)
        if entry is not None:
            entries.append(entry)
    if not include_live:
        entries = [e for e in entries if not instance_alive(e.instance)]
    return sorted(entries, key=lambda e: e.saved_at, reverse=True)


def _read_sidecar(folder: Path, meta_path: Path) -> RecoveryEntry | None:
    key = meta_path.stem
    if not safe_name(key):
        return None
    try:
        meta = json.loads(read_regular(meta_path, MAX_SIDECAR_BYTES, follow_links=False, what="sidecar"))
        ora = folder / f"{key}.ora"
        st = os.lstat(ora)
        if not stat.S_ISREG(st.st_mode) or not isinstance(meta, dict) or meta.get("document_key") != key:
            return None
        source, instance, saved_at = meta.get("source"), meta.get("instance"), float(meta["saved_at"])
        if not math.isfinite(saved_at) or not isinstance(source, str | None):
            return None
        if instance is not None and not safe_name(instance):
            return None
        return RecoveryEntry(ora, key, source, saved_at, instance)
    except (OSError, ValueError, KeyError, TypeError, RecursionError, BadInputError):
        return None


def restore(entry: RecoveryEntry) -> Document:
    """Open a recovery snapshot (it stays until :func:`discard`)."""
    return load_ora(entry.path)


def discard(document_key: str) -> None:
    """Remove the recovery snapshot of a document (after a save, or when the user discards it)."""
    try:
        folder = recovery_dir()
    except OSError:  # no recovery folder (it cannot be made): nothing to remove
        return
    if not safe_name(document_key):
        return  # never derive a path from an unsafe key
    for suffix in (".ora", ".json"):
        with contextlib.suppress(FileNotFoundError):
            inside(folder, f"{document_key}{suffix}").unlink()
