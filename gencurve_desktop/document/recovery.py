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
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from gencurve_desktop.document.atomic import write_atomic
from gencurve_desktop.document.document import Document
from gencurve_desktop.document.file_lock import try_lock, unlock
from gencurve_desktop.document.ora import load_ora, save_ora

AUTOSAVE_INTERVAL_S = 180


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


def instance_alive(instance_id: str | None) -> bool:
    """Whether a running process holds ``instance_id``'s lock (this process's own lock counts as alive)."""
    if not instance_id:
        return False
    path = recovery_dir() / f"instance-{instance_id}.lock"
    if not path.exists():
        return False
    try:
        with open(path, "a+b") as f:
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
    path = folder / f"{document_key}.ora"
    save_ora(doc, path)
    return _write_meta(RecoveryEntry(path, document_key, source, time.time(), instance))


def _write_meta(entry: RecoveryEntry) -> RecoveryEntry:
    meta = {
        "document_key": entry.document_key,
        "source": entry.source,
        "saved_at": entry.saved_at,
        "instance": entry.instance,
    }
    write_atomic(entry.path.with_suffix(".json"), lambda f: f.write(json.dumps(meta).encode()))
    return entry


def claim(entry: RecoveryEntry, instance: str) -> RecoveryEntry:
    """Make ``instance`` the owner of a snapshot it restored (so no other instance offers it again)."""
    return _write_meta(RecoveryEntry(entry.path, entry.document_key, entry.source, entry.saved_at, instance))


def list_recovery(include_live: bool = False) -> list[RecoveryEntry]:
    """Snapshots whose instance is gone (or all with ``include_live``), newest first; bad sidecars skipped."""
    entries = []
    for meta_path in recovery_dir().glob("*.json"):
        try:
            meta = json.loads(meta_path.read_text())
            ora = meta_path.with_suffix(".ora")
            if ora.is_file():
                entries.append(
                    RecoveryEntry(
                        ora,
                        str(meta["document_key"]),
                        meta.get("source"),
                        float(meta["saved_at"]),
                        meta.get("instance"),
                    )
                )
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue
    if not include_live:
        entries = [e for e in entries if not instance_alive(e.instance)]
    return sorted(entries, key=lambda e: e.saved_at, reverse=True)


def restore(entry: RecoveryEntry) -> Document:
    """Open a recovery snapshot (it stays until :func:`discard`)."""
    return load_ora(entry.path)


def discard(document_key: str) -> None:
    """Remove the recovery snapshot of a document (after a save, or when the user discards it)."""
    try:
        folder = recovery_dir()
    except OSError:  # no recovery folder (it cannot be made): nothing to remove
        return
    for suffix in (".ora", ".json"):
        with contextlib.suppress(FileNotFoundError):
            (folder / f"{document_key}{suffix}").unlink()
