"""The History dock: this session's undo steps (a QUndoView) and, below them, the edits the document holds — also
those read from a reopened .ora, whose undo history starts empty. Double-clicking an edit opens its layer's
properties."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDockWidget, QLabel, QListWidget, QListWidgetItem, QUndoView, QVBoxLayout, QWidget

EDIT_ID = Qt.UserRole


def edit_line(provenance: dict, layer_name: str | None) -> str:
    """One row for an edit: its layer, task, seed, iterations and time."""
    p = provenance if isinstance(provenance, dict) else {}
    params = p.get("params") if isinstance(p.get("params"), dict) else {}
    seconds = p.get("seconds")
    time = f", {seconds:.0f} s" if isinstance(seconds, int | float) and not isinstance(seconds, bool) else ""
    where = f"{layer_name}: " if layer_name else "(layer deleted) "
    return f"{where}{p.get('task', 'edit')}, seed {params.get('seed', '?')}, {p.get('iterations', '?')} it{time}"


class HistoryDock(QDockWidget):
    editActivated = Signal(str)  # the layer id of the edit double-clicked

    def __init__(self, undo_stack, parent=None) -> None:
        super().__init__("History", parent)
        self.setObjectName("historyDock")
        body = QWidget()
        self.view = QUndoView(undo_stack, body)
        self.view.setObjectName("historyView")
        self.view.setEmptyLabel("Opened")
        self.edits_label = QLabel("Edits in this document", body)
        self.edits = QListWidget(body)
        self.edits.setObjectName("editsHistory")
        self.edits.setToolTip("Every edit the document holds, oldest first (also from a reopened .ora); "
                              "double-click for its properties")  # fmt: skip
        self.edits.itemDoubleClicked.connect(self._activated)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.view, 3)
        layout.addWidget(self.edits_label)
        layout.addWidget(self.edits, 2)
        self.setWidget(body)

    def set_stack(self, undo_stack) -> None:
        self.view.setStack(undo_stack)

    def show_edits(self, doc) -> None:
        """List the document's edits, oldest first, each with the layer that shows it."""
        self.edits.clear()
        if doc is None:
            return
        layers = {layer.edit_id: layer for layer in doc.layers if layer.edit_id}
        for record in doc.edits:
            layer = layers.get(record.id)
            item = QListWidgetItem(edit_line(record.provenance, layer.name if layer else None))
            item.setData(EDIT_ID, layer.id if layer else None)
            self.edits.addItem(item)
        self.edits_label.setText(f"Edits in this document ({len(doc.edits)})")

    def _activated(self, item: QListWidgetItem) -> None:
        if item.data(EDIT_ID):
            self.editActivated.emit(item.data(EDIT_ID))
