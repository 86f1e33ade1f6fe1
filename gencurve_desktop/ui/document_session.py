"""The document session: the open document, its file, its undo stack, saving, autosave and recovery.

Dirty state comes from the undo stack's clean index (plus "restored from a crash and not yet saved"). Anything
that would drop unsaved work — close, quit, open, open recent, drag and drop — goes through :meth:`confirm_discard`,
which asks Save / Discard / Cancel. Recovery snapshots are keyed per document and owned by this instance's lock.
"""

from __future__ import annotations

import copy
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from gencurve_desktop.document import recovery
from gencurve_desktop.document.document import Document
from gencurve_desktop.document.export import ALPHA_FORMATS, export_mask, export_merged
from gencurve_desktop.document.images import load_photo
from gencurve_desktop.document.ora import load_ora, save_ora
from gencurve_desktop.errors import GenCurveError
from gencurve_desktop.settings import SettingsStore
from gencurve_desktop.ui.commands import ChangeCommand

IMAGE_FILTER = "Images and projects (*.png *.jpg *.jpeg *.webp *.tif *.tiff *.bmp *.gif *.heic *.heif *.avif *.ora)"
MAX_RECENT = 8
AUTOSAVE_DEBOUNCE_MS = 1500  # a snapshot follows every change (stroke, edit, layer change) this soon


def modes_notice(doc: Document) -> str | None:
    """One line naming the layers whose blend mode GenCurve draws as normal (kept in the file on save)."""
    missing = doc.unsupported_modes()
    if not missing:
        return None
    named = ", ".join(f"{name} ({op})" for name, op in missing[:4]) + (" …" if len(missing) > 4 else "")
    return f"Drawn as Normal here, kept on save — blend modes GenCurve does not implement: {named}"


class DocumentSession(QObject):
    """Owns ``doc``, ``path``, ``undo`` and ``key``; emits ``documentChanged`` when another document is current."""

    documentChanged = Signal()
    titleChanged = Signal()
    message = Signal(str, int)  # status-bar text, milliseconds (0: until replaced)
    error = Signal(str, str)  # title, message
    autosaved = Signal(bool, str)  # ok, reason (from the helper thread, delivered on the UI thread)

    def __init__(self, parent: QWidget, settings: SettingsStore, refresh: Callable[[], None]) -> None:
        super().__init__(parent)
        self.window = parent
        self.settings = settings
        self.refresh = refresh
        self.doc: Document | None = None
        self.path: Path | None = None  # the project file saving writes to
        self.origin: Path | None = None  # the file the document was opened from (image or project)
        self.key = uuid.uuid4().hex[:12]
        self.undo = QUndoStack(self)
        self.restored = False  # restored from a crash and not saved since: dirty even at the clean index
        try:
            self.instance = recovery.InstanceLock()
        except OSError as e:  # no usable recovery folder (read-only home, a file in its place): work on without
            self.instance = recovery.DetachedInstance(f"{e.strerror or e}: {getattr(e, 'filename', '')}")
        self._debounce = QTimer(self, singleShot=True, interval=AUTOSAVE_DEBOUNCE_MS, timeout=self.autosave)
        # bound methods, not lambdas: Qt drops these connections when the session is deleted, so the stack's last
        # signals (emitted while it is destroyed, e.g. at interpreter exit) reach nothing deleted
        self.undo.cleanChanged.connect(self._clean_changed)
        self.undo.indexChanged.connect(self._index_changed)
        self.timer = QTimer(self, interval=recovery.AUTOSAVE_INTERVAL_S * 1000, timeout=self.autosave)
        self.timer.start()

    def _clean_changed(self, _clean: bool) -> None:
        self.titleChanged.emit()

    def _index_changed(self, _index: int) -> None:
        self._debounce.start()
        self.autosaved.connect(self._autosave_reported)
        self.prompt: QMessageBox | None = None

    # ------------------------------------------------------------------ state
    def is_dirty(self) -> bool:
        return self.doc is not None and (self.restored or not self.undo.isClean())

    def title(self) -> str:
        shown = self.path or self.origin
        name = shown.name if shown else ("Untitled" if self.doc else "")
        return f"{name}{'*' if self.is_dirty() else ''} — GenCurve Desktop" if name else "GenCurve Desktop"

    def set_document(
        self, doc: Document | None, path: Path | None = None, key: str | None = None, origin: Path | None = None
    ) -> None:
        """Make ``doc`` current (a new recovery key unless ``key``); the undo history starts anew."""
        self._debounce.stop()
        self.doc, self.path, self.origin = doc, path, origin or path
        self.key = key or uuid.uuid4().hex[:12]
        self.restored = False
        self.undo.clear()
        self.documentChanged.emit()
        self.titleChanged.emit()

    def push(self, change) -> None:
        """Apply one undoable change to the document."""
        if self.doc is not None:
            self.undo.push(ChangeCommand(self.doc, change, self.refresh))

    # ------------------------------------------------------------------ asking before unsaved work is dropped
    def confirm_discard(self, then: Callable[[], None]) -> None:
        """Run ``then`` now if nothing is unsaved; else ask Save / Discard / Cancel and run it unless cancelled."""
        if not self.is_dirty():
            then()
            return
        name = (self.path or self.origin).name if (self.path or self.origin) else "Untitled"
        box = QMessageBox(
            QMessageBox.Warning,
            "Save changes?",
            f"{name} has changes that are not saved. Save them first?",
            QMessageBox.Save | QMessageBox.Discard | QMessageBox.Cancel,
            self.window,
        )
        box.setObjectName("saveChangesPrompt")
        box.setDefaultButton(QMessageBox.Save)

        def answered(button: int) -> None:
            self.prompt = None
            if button == QMessageBox.Save:
                if self.save():
                    then()
            elif button == QMessageBox.Discard:
                self.discard_changes()
                then()

        box.finished.connect(lambda _: answered(box.standardButton(box.clickedButton()) if box.clickedButton() else 0))
        self.prompt = box
        box.open()

    def discard_changes(self) -> None:
        """Forget the unsaved changes: the document counts as clean and its recovery snapshot goes."""
        recovery.discard(self.key)
        self.restored = False
        self.undo.setClean()
        self.titleChanged.emit()

    # ------------------------------------------------------------------ files
    def open_path(self, path) -> bool:
        """Open an image or an .ora project (no prompt); on failure report it and keep the current document."""
        path = Path(path)
        try:
            if path.suffix.lower() == ".ora":
                doc, project = load_ora(path), path
            else:
                rgb, metadata = load_photo(path)
                doc, project = Document.from_image(rgb, metadata=metadata), None
        except GenCurveError as e:
            self.error.emit("Cannot open the file", str(e))
            return False
        self.set_document(doc, project, origin=path)
        self.add_recent(path)
        notice = modes_notice(doc) or (
            f"Opened {path.name}; renamed {len(doc.load_notes)} unsafe or repeated id(s) (they will be saved renamed)"
            if doc.load_notes
            else ""
        )
        self.message.emit(notice or f"Opened {path.name}", 15000 if notice else 3000)
        return True

    def request_open(self, path) -> None:
        """Open ``path`` after asking about unsaved changes."""
        self.confirm_discard(lambda: self.open_path(path))

    def open_dialog(self) -> None:
        def pick() -> None:
            path, _ = QFileDialog.getOpenFileName(self.window, "Open", str(self.last_dir()), IMAGE_FILTER)
            if path:
                self.open_path(path)

        self.confirm_discard(pick)

    def save_path(self, path) -> bool:
        """Save the document as OpenRaster at ``path`` (atomically); the recovery snapshot goes."""
        if self.doc is None:
            return False
        path = Path(path)
        if path.suffix.lower() != ".ora":
            path = path.with_suffix(".ora")
        try:
            save_ora(self.doc, path)
        except (GenCurveError, OSError) as e:
            self.error.emit("Cannot save the project", str(e))
            return False
        self.path = path
        self.restored = False
        self.undo.setClean()
        recovery.discard(self.key)
        self.add_recent(path)
        self.titleChanged.emit()
        self.message.emit(f"Saved {path.name}", 3000)
        return True

    def save(self) -> bool:
        return self.save_path(self.path) if self.path is not None else self.save_as()

    def save_as(self) -> bool:
        start = self.last_dir() / f"{self.default_stem()}.ora"
        path, _ = QFileDialog.getSaveFileName(self.window, "Save project", str(start), "OpenRaster (*.ora)")
        return bool(path) and self.save_path(path)

    def export_image(self) -> None:
        start = self.last_dir() / f"{self.default_stem()}-edited.png"
        path, _ = QFileDialog.getSaveFileName(
            self.window, "Export image", str(start), "Images (*.png *.jpg *.webp *.tif *.avif *.heic)"
        )
        if path:
            self._guard(lambda: export_merged(self.doc, path, alpha=self._keeps_alpha(path)), "Cannot export the image")

    def _keeps_alpha(self, path: str) -> bool:
        """A transparent picture keeps its transparency in PNG, WebP and TIFF (as Krita exports); JPEG gets white."""
        if Path(path).suffix.lower() not in ALPHA_FORMATS:
            return False
        return bool((self.doc.composite(alpha=True)[..., 3] < 255).any())

    def export_mask(self) -> None:
        start = self.last_dir() / f"{self.default_stem()}-mask.png"
        path, _ = QFileDialog.getSaveFileName(self.window, "Export mask", str(start), "PNG (*.png)")
        if path:
            self._guard(lambda: export_mask(self.doc, path), "Cannot export the mask")

    def default_stem(self) -> str:
        shown = self.path or self.origin
        return shown.stem if shown else "untitled"

    def _guard(self, fn, title: str) -> None:
        try:
            fn()
        except (GenCurveError, OSError) as e:
            self.error.emit(title, str(e))

    def last_dir(self) -> Path:
        recent = self.recent_files()
        return Path(recent[0]).parent if recent else Path.home()

    def recent_files(self) -> list[str]:
        value = self.settings.value("files/recent", [])
        return [v for v in value if isinstance(v, str) and v and "\0" not in v] if isinstance(value, list) else []

    def add_recent(self, path: Path) -> None:
        items = [str(path.resolve())] + [p for p in self.recent_files() if p != str(path.resolve())]
        self.settings.setValue("files/recent", items[:MAX_RECENT])

    # ------------------------------------------------------------------ autosave and recovery
    def autosave(self) -> None:
        """Snapshot a dirty document into the recovery folder on a helper thread (the UI never waits)."""
        if not self.is_dirty():
            return
        snapshot = copy.deepcopy(self.doc)
        args = (snapshot, self.key, self._source(), self.instance.id)
        threading.Thread(target=self._autosave_now, args=args, daemon=True).start()

    def autosave_now(self) -> bool:
        """A final, synchronous snapshot (on exit while the document is still dirty)."""
        if not self.is_dirty():
            return True
        try:
            recovery.autosave(self.doc, self.key, self._source(), self.instance.id)
            return True
        except Exception as e:
            self.autosaved.emit(False, str(e))
            return False

    def _source(self) -> str | None:
        shown = self.path or self.origin
        return str(shown) if shown else None

    def _autosave_now(self, snapshot, key, source, instance) -> None:
        try:
            recovery.autosave(snapshot, key, source, instance)
            self.autosaved.emit(True, "")
        except Exception as e:  # reported in the status bar; the session goes on
            self.autosaved.emit(False, f"{type(e).__name__}: {e}" if not str(e) else str(e))

    def _autosave_reported(self, ok: bool, reason: str) -> None:
        if ok:
            self.last_autosave_error = None
        else:
            self.last_autosave_error = reason
            self.message.emit(f"Autosave failed: {reason.splitlines()[0]}", 0)

    def offer_recovery(self) -> None:
        """Offer the newest snapshot left by an instance that is no longer running."""
        problem = getattr(self.instance, "problem", None)
        if problem:
            self.message.emit(f"Autosave is off: the recovery folder cannot be used ({problem})", 0)
            return
        try:
            entries = recovery.list_recovery()
        except OSError as e:
            self.message.emit(f"Cannot read the recovery folder ({e.strerror or e})", 0)
            return
        if not entries:
            return
        entry = entries[0]
        name = f" ({Path(entry.source).name})" if entry.source else ""
        box = QMessageBox(
            QMessageBox.Question,
            "Recover unsaved work?",
            f"GenCurve found unsaved work from {time.ctime(entry.saved_at)}{name}. Restore it?\n\n"
            "Decide later keeps it: it is offered again at the next start.",
            QMessageBox.Yes | QMessageBox.Discard,
            self.window,
        )
        box.setObjectName("recoveryPrompt")
        later = box.addButton("Decide &Later", QMessageBox.RejectRole)
        later.setObjectName("recoveryLater")
        box.setEscapeButton(later)  # Esc or the title bar's close keep the work; only Discard deletes it
        box.setDefaultButton(QMessageBox.Yes)
        box.finished.connect(lambda result: self._recovery_answer(entry, result))
        box.open()
        self.recovery_box = box

    def _recovery_answer(self, entry, result) -> None:
        if result == QMessageBox.Yes:
            try:
                doc = recovery.restore(entry)
            except GenCurveError as e:
                self.error.emit("Cannot restore the recovery file", str(e))
                return  # the snapshot stays: nothing is deleted on a failed restore
            origin = Path(entry.source) if entry.source else None
            project = origin if origin and origin.suffix.lower() == ".ora" else None
            self.set_document(doc, project, key=entry.document_key, origin=origin)
            self.restored = True  # unsaved until saved; the snapshot lives until then or an explicit discard
            recovery.claim(entry, self.instance.id)
            self.titleChanged.emit()
            return
        if result == QMessageBox.Discard:
            recovery.discard(entry.document_key)
        # anything else (Decide Later, Esc, the close button): the snapshot stays for the next start

    def close(self) -> None:
        """On exit: keep a dirty document's snapshot (written now), drop a clean one's; release the lock."""
        self.timer.stop()
        self._debounce.stop()
        if self.is_dirty():
            self.autosave_now()
        else:
            recovery.discard(self.key)
        self.instance.release()
