"""QUndoCommands over the document's undo atoms: redo applies, undo reverts, then the UI refreshes."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QUndoCommand

from gencurve_desktop.document.changes import Change
from gencurve_desktop.document.document import Document


class ChangeCommand(QUndoCommand):
    """One user action = one command = one document change."""

    def __init__(self, doc: Document, change: Change, refresh: Callable[[], None]) -> None:
        super().__init__(change.label)
        self.doc = doc
        self.change = change
        self.refresh = refresh

    def redo(self) -> None:
        self.change.apply(self.doc)
        self.refresh()

    def undo(self) -> None:
        self.change.revert(self.doc)
        self.refresh()
