"""Autosave and recovery: project snapshots in a per-user recovery folder (platformdirs).

The desktop autosaves after each finished edit and every few minutes; at start it lists what a crash left
behind and offers to restore it. A clean close discards the document's recovery file.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from gencurve_desktop.document.atomic import write_atomic
from gencurve_desktop.document.document import Document
from gencurve_desktop.document.ora import load_ora, save_ora

AUTOSAVE_INTERVAL_S = 180


def recovery_dir() -> Path:
    """``$GENCURVE_RECOVERY_DIR`` or the user's data folder for GenCurve, ``.../recovery``."""
    override = os.environ.get("GENCURVE_RECOVERY_DIR")
    folder = Path(override) if override else Path(platformdirs.user_data_dir("GenCurve", "GenCurve")) / "recovery"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@dataclass(frozen=True)
class RecoveryEntry:
    """One recovery snapshot: the .ora and what it was a copy of."""

    path: Path
    document_key: str
    source: str | None  # the file the user had open, if any
    saved_at: float


def autosave(doc: Document, document_key: str, source: str | None = None) -> RecoveryEntry:
    """Write (atomically) the recovery snapshot of the document identified by ``document_key``."""
    folder = recovery_dir()
    path = folder / f"{document_key}.ora"
    save_ora(doc, path)
    meta = {"document_key": document_key, "source": source, "saved_at": time.time()}
    write_atomic(folder / f"{document_key}.json", lambda f: f.write(json.dumps(meta).encode()))
    return RecoveryEntry(path, document_key, source, meta["saved_at"])


def list_recovery() -> list[RecoveryEntry]:
    """Recovery snapshots left behind, newest first (unreadable sidecars are skipped)."""
    entries = []
    for meta_path in recovery_dir().glob("*.json"):
        try:
            meta = json.loads(meta_path.read_text())
            ora = meta_path.with_suffix(".ora")
            if ora.is_file():
                entries.append(
                    RecoveryEntry(ora, str(meta["document_key"]), meta.get("source"), float(meta["saved_at"]))
                )
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return sorted(entries, key=lambda e: e.saved_at, reverse=True)


def restore(entry: RecoveryEntry) -> Document:
    """Open a recovery snapshot (it stays until :func:`discard`)."""
    return load_ora(entry.path)


def discard(document_key: str) -> None:
    """Remove the recovery snapshot of a document (after a clean save or close)."""
    folder = recovery_dir()
    for suffix in (".ora", ".json"):
        try:
            (folder / f"{document_key}{suffix}").unlink()
        except FileNotFoundError:
            pass
