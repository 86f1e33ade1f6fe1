"""Help > About (version, model, device, licences) and Help > Keyboard Shortcuts (from the action table)."""

from __future__ import annotations

import html
import platform

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHeaderView, QTableWidget, QTableWidgetItem, QVBoxLayout

from gencurve_desktop import __version__
from gencurve_desktop.ui.actions import ACTIONS, UNDO_REDO_KEYS, key_sequences

EXTRA_KEYS = [  # keys handled by the canvas itself, not by actions
    ("Zoom about the cursor", "Mouse wheel"),
    ("Pan", "Middle button drag, or Space + drag"),
    ("Brush smaller / larger", "[  /  ]"),
]


def about_html(window) -> str:
    """The About text: version, the loaded model and device, Qt/Python, and the licences of the samples."""
    worker = window.bridge.worker
    model = getattr(worker, "model", None)
    device = f"{model.device} ({str(model.dtype).replace('torch.', '')})" if model is not None else "none loaded"
    note = getattr(model, "note", "") if model is not None else ""
    weights = f" — {html.escape(note)}" if note else ""
    return (
        f"<h3>GenCurve Desktop {__version__}</h3>"
        "<p>Generation curves, saliency maps and curve-matching edits from a Stable Diffusion U-Net, after "
        "<i>Varying Manifolds in Diffusion: From Time-varying Geometries to Visual Saliency</i>.</p>"
        f"<p><b>Model</b>: {html.escape(window.model_setup.loaded_id or 'none loaded')}{weights}<br>"
        f"<b>Device</b>: {device}<br>"
        f"<b>Python</b> {platform.python_version()} on {platform.system()}</p>"
        "<p><b>Sample images</b>: <i>astronaut.png</i> (Eileen Collins, NASA, public domain) and "
        "<i>coffee.png</i> (Rachel Michetti, CC0), both from scikit-image's data.<br>"
        "Model weights carry their own licence (Stable Diffusion 2.1: CreativeML Open RAIL++-M; the included "
        "<i>mini</i>: GPL-2+, trained on GPL-2+ Debian wallpapers, see its model card).</p>"
    )


def show_about(window) -> None:
    from PySide6.QtWidgets import QMessageBox

    box = QMessageBox(QMessageBox.Information, "About GenCurve Desktop", about_html(window), QMessageBox.Ok, window)
    box.setObjectName("aboutDialog")
    box.open()
    window.about_box = box


def shortcut_rows() -> list[tuple[str, str]]:
    """(what, keys) for every action with a shortcut, then the canvas's own keys."""
    rows = []
    for _name, text, shortcut, _slot, _checkable, _tip in ACTIONS:
        if shortcut:
            keys = ", ".join(k.toString(QKeySequence.NativeText) for k in key_sequences(shortcut))
            rows.append((text.replace("&", "").rstrip("…"), keys))
    for name, key in UNDO_REDO_KEYS.items():
        keys = ", ".join(k.toString(QKeySequence.NativeText) for k in key_sequences(key))
        rows.append((name.removeprefix("action"), keys))
    return rows + EXTRA_KEYS


def show_shortcuts(window) -> None:
    dialog = QDialog(window)
    dialog.setObjectName("shortcutsDialog")
    dialog.setWindowTitle("Keyboard shortcuts")
    rows = shortcut_rows()
    table = QTableWidget(len(rows), 2, dialog)
    table.setObjectName("shortcutsTable")
    table.setHorizontalHeaderLabels(["Command", "Keys"])
    for i, (what, keys) in enumerate(rows):
        table.setItem(i, 0, QTableWidgetItem(what))
        table.setItem(i, 1, QTableWidgetItem(keys))
    table.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)
    table.verticalHeader().setVisible(False)
    table.setEditTriggers(QTableWidget.NoEditTriggers)
    buttons = QDialogButtonBox(QDialogButtonBox.Close, dialog)
    buttons.rejected.connect(dialog.reject)
    layout = QVBoxLayout(dialog)
    layout.addWidget(table)
    layout.addWidget(buttons)
    dialog.resize(460, 520)
    dialog.open()
    window.shortcuts_dialog = dialog
