"""The main window: builds the canvas and docks and wires them to the objects that do the work.

- :class:`DocumentSession` (document_session.py): the document, its file, undo, save prompts, autosave, recovery;
- :class:`JobController` (job_controller.py): edits, curve probes and saliency maps on the worker;
- :class:`ModelSetup` (model_setup.py): model settings, the welcome dialog, loading and load failures;
- the action table (actions.py).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QMainWindow, QMessageBox

from gencurve_desktop.document.changes import (
    MaskStroke,
    MoveLayer,
    RemoveLayer,
    SetGroupProps,
    SetLayerProps,
    SetMask,
    SetReference,
)
from gencurve_desktop.document.layers import composite
from gencurve_desktop.settings import SettingsStore
from gencurve_desktop.ui.actions import DOC_ACTIONS, fill_recent, make_actions, make_menus
from gencurve_desktop.ui.canvas import CanvasView
from gencurve_desktop.ui.cursor_readout import CursorReadout
from gencurve_desktop.ui.curve_dock import CurveDock
from gencurve_desktop.ui.document_session import DocumentSession
from gencurve_desktop.ui.document_tools import DocumentTools
from gencurve_desktop.ui.help import show_about, show_shortcuts
from gencurve_desktop.ui.history_dock import HistoryDock
from gencurve_desktop.ui.job_controller import JobController, composite_digest
from gencurve_desktop.ui.layer_moves import LayerMoves
from gencurve_desktop.ui.layer_properties import open_properties
from gencurve_desktop.ui.layers_panel import LayersPanel
from gencurve_desktop.ui.model_setup import ModelSetup
from gencurve_desktop.ui.status_bar import build_status_bar, show_model_notice, show_profile, show_saliency_legend
from gencurve_desktop.ui.task_panel import TaskPanel
from gencurve_desktop.ui.window_state import (
    fit_to_screen,
    restore_window_state,
    save_when_changed,
    save_window_state,
)
from gencurve_desktop.workers.bridge import EngineBridge


class MainWindow(QMainWindow):
    """GenCurve Desktop's main window (automation contract: DESIGN §5 and the desktop issue)."""

    editLanded = Signal(str)  # layer id
    errorShown = Signal(str)

    def __init__(self, model: str | None = None, recovery_prompt: bool = True) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.setAcceptDrops(True)
        self.settings = SettingsStore()  # plain JSON; a broken file is set aside and reported below
        self.last_error: str | None = None
        self.saliency: np.ndarray | None = None
        self.saliency_digest: bytes | None = None  # the composite the map was computed on
        self._close_confirmed = False
        self._fitted = False

        # 1. the objects that do the work
        self.session = DocumentSession(self, self.settings, self.refresh)
        self.bridge = EngineBridge(self)
        self.jobs = JobController(self, self.bridge)
        self.model_setup = ModelSetup(self, self.settings, self.bridge, model)
        self.tools = DocumentTools(self)
        self.moves = LayerMoves(self)

        # 2. central canvas and docks
        self.canvas = CanvasView(self)
        self.setCentralWidget(self.canvas)
        self.curve_dock = CurveDock(self)
        self.task_dock = TaskPanel(self)
        self.layers_dock = LayersPanel(self)
        self.history_dock = HistoryDock(self.undo, self)
        self.history_view = self.history_dock.view
        for dock in (self.task_dock, self.layers_dock, self.history_dock):
            self.addDockWidget(Qt.RightDockWidgetArea, dock)
        self.tabifyDockWidget(self.layers_dock, self.history_dock)
        self.layers_dock.raise_()
        self.setCorner(Qt.BottomRightCorner, Qt.RightDockWidgetArea)  # the Edit dock keeps the full height
        self.addDockWidget(Qt.BottomDockWidgetArea, self.curve_dock)
        self.resizeDocks([self.curve_dock], [230], Qt.Vertical)  # the photo gets most of the height at first

        # 3. actions, menus, status bar
        make_actions(self)
        make_menus(self)
        self.task_dock.bind_actions(self.actionRun, self.actionCancel)
        self._build_status_bar()

        # 4. wiring
        s = self.session
        s.documentChanged.connect(self._document_changed)
        s.titleChanged.connect(lambda: self.setWindowTitle(s.title()))
        s.message.connect(lambda text, ms: self.statusBar().showMessage(text, ms))
        s.error.connect(self.show_error)
        s.titleChanged.connect(lambda: fill_recent(self, s.recent_files()))
        self.jobs.editLanded.connect(self.editLanded)
        self.model_setup.loaded.connect(lambda _id, random, note: show_model_notice(self, note, random))
        self.readout = CursorReadout()
        self.canvas.cursorMoved.connect(
            lambda x, y: self.coords.setText(
                self.readout.text(x, y, self.saliency, self.canvas.saliency_item.isVisible())
            )
        )
        self.canvas.strokeFinished.connect(self._stroke_finished)
        self.canvas.referenceClicked.connect(lambda x, y: s.push(SetReference((x, y))))
        self.canvas.probeClicked.connect(self.jobs.probe)
        self.canvas.moveStarted.connect(self.moves.start)
        self.canvas.moveFinished.connect(self.moves.finish)
        self.layers_dock.visibilityToggled.connect(self._layer_visibility)
        self.layers_dock.renamed.connect(self._layer_renamed)
        self.layers_dock.opacityChanged.connect(self._layer_opacity)
        self.layers_dock.opacityPreview.connect(self._layer_opacity_preview)
        self.curve_dock.probesCleared.connect(self.canvas.clear_probe_markers)
        self.layers_dock.deleteRequested.connect(self._layer_delete)
        self.layers_dock.moveRequested.connect(self._layer_move)
        self.layers_dock.propertiesRequested.connect(self.layer_properties_of)
        self.history_dock.editActivated.connect(self.layer_properties_of)

        self.resize(1400, 900)
        restore_window_state(self)  # the last size, dock layout, task and parameters
        save_when_changed(self)  # and they are written again soon after each change
        self.task_dock.feather.valueChanged.connect(self.canvas.set_feather)  # the overlay shows the feathered edge
        self.canvas.set_feather(self.task_dock.feather.value())
        s.set_document(None)
        fill_recent(self, s.recent_files())
        self.model_setup.start()
        if self.settings.problem:  # reported once; the session goes on with the defaults
            QTimer.singleShot(0, lambda: self.show_error("Settings not loaded", self.settings.problem))
        if recovery_prompt:
            QTimer.singleShot(0, s.offer_recovery)

    def _build_status_bar(self) -> None:
        build_status_bar(self)
        self.canvas.zoomChanged.connect(lambda z: self.zoom_label.setText(f"{z * 100:.0f} %"))
        self.canvas.brushSizeChanged.connect(lambda px: self.brush_label.setText(f"brush {px} px"))
        self.saliency_opacity.valueChanged.connect(lambda _: self.show_saliency())

    # ------------------------------------------------------------------ the session's state, for scripts and tests
    doc = property(lambda self: self.session.doc)
    path = property(lambda self: self.session.path)
    undo = property(lambda self: self.session.undo)
    model_label = property(lambda self: self.model_setup.model_label)
    prediction_label = property(lambda self: self.model_setup.prediction_label)

    def open_path(self, path) -> bool:
        """Open an image or an .ora project now (no prompt); on failure show an error and keep the document."""
        return self.session.open_path(path)

    def save_path(self, path) -> bool:
        """Save the document as OpenRaster at ``path`` (atomically)."""
        return self.session.save_path(path)

    def autosave(self) -> None:
        self.session.autosave()

    def run_edit(self) -> bool:
        """Start the selected edit on the current composite, mask and reference."""
        return self.jobs.run_edit()

    def cancel_job(self) -> None:
        self.jobs.cancel()

    # ------------------------------------------------------------------ showing the document
    def _document_changed(self) -> None:
        self.saliency = None
        self.actionSaliencyMap.setChecked(False)
        self.show_saliency()
        self.curve_dock.clear_probes()
        has = self.doc is not None
        for name in DOC_ACTIONS:
            getattr(self, name).setEnabled(has and not (name == "actionRun" and self.bridge.busy))
        self.curve_dock.clear_run()
        show_profile(self, self.doc)
        self.refresh(fit=True)

    def refresh(self, fit: bool = False) -> None:
        """Redraw everything that shows the document."""
        doc = self.doc
        self.setWindowTitle(self.session.title())
        self.canvas.show_hint(doc is None)
        if doc is None:  # an empty window: a hint, no zoom figure, no previous job's outcome
            self.canvas.set_image(np.full((64, 64, 3), 48, np.uint8), fit=True)
            self.canvas.set_mask(np.zeros((64, 64), bool))
            self.canvas.set_compare(None)
            self.layers_dock.show_layers([])
            self.history_dock.show_edits(None)
            self.zoom_label.setText("—")
            self.task_dock.clear_outcome()
            return
        composite = doc.composite()
        self.canvas.set_image(composite, fit=fit)
        self.canvas.set_compare(doc.composite(layers=doc.layers[:1]) if self.actionCompare.isChecked() else None)
        self.canvas.set_mask(doc.mask)
        self.canvas.set_reference(doc.references[0] if doc.references else None)
        self.layers_dock.show_layers(doc.layers, doc.groups, {e.id: e.provenance for e in doc.edits})
        self.history_dock.show_edits(doc)
        self._drop_stale_saliency(composite)

    def _drop_stale_saliency(self, composite: np.ndarray | None) -> None:
        """A saliency map is shown only over the composite it was computed on: once the layers change (an edit,
        undo, visibility, opacity) it is dropped, and M computes it afresh."""
        if self.saliency is None:
            return
        if self.saliency_digest == composite_digest(self.doc.composite() if composite is None else composite):
            return
        self.saliency = None
        if self.actionSaliencyMap.isChecked():
            self.actionSaliencyMap.setChecked(False)
            self.statusBar().showMessage("The layers changed: the saliency map is out of date; M recomputes it", 8000)
        self.show_saliency()

    def toggle_saliency(self) -> None:
        if self.actionSaliencyMap.isChecked() and self.saliency is None and self.doc is not None:
            if not self.jobs.saliency():
                self.actionSaliencyMap.setChecked(False)
        self.show_saliency()

    def show_saliency(self) -> None:
        shown = self.actionSaliencyMap.isChecked()
        self.canvas.set_saliency(self.saliency, shown, self.saliency_opacity.value() / 100)
        show_saliency_legend(self, shown and self.saliency is not None)

    def show_about(self) -> None:
        show_about(self)

    def show_shortcuts(self) -> None:
        show_shortcuts(self)

    def layer_properties(self) -> None:
        """The selected edit layer's properties (F3, as in Krita)."""
        open_properties(self)

    def layer_properties_of(self, layer_id: str) -> None:
        self.layers_dock.select(layer_id)
        open_properties(self, layer_id)

    # ------------------------------------------------------------------ tools and undoable changes
    def set_tool(self, tool: str) -> None:
        for name in ("brush", "eraser", "reference", "probe", "move"):
            getattr(self, f"action{name.capitalize()}").setChecked(name == tool)
        self.canvas.set_tool(tool)

    def tool_brush(self) -> None:
        self.set_tool("brush")

    def tool_eraser(self) -> None:
        self.set_tool("eraser")

    def tool_reference(self) -> None:
        self.set_tool("reference")

    def tool_probe(self) -> None:
        self.set_tool("probe")

    def tool_move(self) -> None:
        self.set_tool("move")

    def _stroke_finished(self, stroke: np.ndarray, erase: bool) -> None:
        if self.doc is not None:
            self.session.push(MaskStroke.paint(self.doc, stroke, erase))
            if self.jobs.edit_running:  # the request holds a copy of the mask it started with
                self.statusBar().showMessage(
                    "The running edit keeps the mask it started with; this stroke is for the next edit", 8000
                )

    def paint_mask(self, stroke: np.ndarray, erase: bool = False) -> None:
        """Apply one brush stroke (bool, image size) as one undo step (also used by scripts)."""
        self._stroke_finished(stroke, erase)

    def clear_mask(self) -> None:
        if self.doc is not None and self.doc.mask.any():
            self.session.push(SetMask(np.zeros_like(self.doc.mask), label="Clear mask"))

    def invert_mask(self) -> None:
        if self.doc is not None:
            self.session.push(SetMask(~self.doc.mask, label="Invert mask"))

    def _node(self, node_id: str):
        """The layer or the group with this id."""
        doc = self.doc
        return doc.groups[node_id] if node_id in doc.groups else doc.layers[doc.layer_index(node_id)]

    def _set_props(self, node_id: str, label: str, **props) -> None:
        change = SetGroupProps if node_id in self.doc.groups else SetLayerProps
        self.session.push(change(node_id, label=label, **props))

    def _layer_visibility(self, node_id: str, visible: bool) -> None:
        if self._node(node_id).visible != visible:
            what = "group" if node_id in self.doc.groups else "layer"
            self._set_props(node_id, f"{'Show' if visible else 'Hide'} {what}", visible=visible)

    def _layer_renamed(self, node_id: str, name: str) -> None:
        if name and self._node(node_id).name != name:
            self._set_props(node_id, "Rename", name=name)

    def _layer_opacity(self, node_id: str, opacity: float) -> None:
        if abs(self._node(node_id).opacity - opacity) > 1e-9:
            self._set_props(node_id, "Opacity", opacity=opacity)
        else:
            self.refresh()  # a preview that ended where it began

    def _layer_opacity_preview(self, node_id: str, opacity: float) -> None:
        doc = self.doc
        if node_id in doc.groups:
            groups = {**doc.groups, node_id: replace(doc.groups[node_id], opacity=opacity)}
            self.canvas.set_image(composite(doc.layers, doc.size, groups=groups, rendering=doc.rendering))
            return
        layers = [replace(x, opacity=opacity) if x.id == node_id else x for x in doc.layers]
        self.canvas.set_image(doc.composite(layers=layers))

    def _layer_delete(self, layer_id: str) -> None:
        if len(self.doc.layers) > 1:
            self.session.push(RemoveLayer(layer_id))

    def _layer_move(self, layer_id: str, direction: int) -> None:
        j = self.doc.layer_index(layer_id) + direction
        if 0 <= j < len(self.doc.layers):
            self.session.push(MoveLayer(layer_id, j))

    # ------------------------------------------------------------------ files dropped on the window
    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        urls = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.session.request_open(Path(urls[0]))

    # ------------------------------------------------------------------ errors and closing
    def report_error(self, message: str) -> None:
        """Record an error that a dialog of its own already shows."""
        self.last_error = message
        self.errorShown.emit(message)

    def show_error(self, title: str, message: str) -> None:
        """A non-blocking error dialog; the document and the app stay as they were."""
        box = QMessageBox(QMessageBox.Critical, title, message, QMessageBox.Ok, self)
        box.setObjectName("errorDialog")
        box.open()
        self.error_box = box
        self.report_error(message)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._fitted:  # once shown, the frame's own size (title bar, borders) is known: fit it all on screen
            self._fitted = True
            QTimer.singleShot(0, lambda: fit_to_screen(self))

    def closeEvent(self, event) -> None:
        if not self._close_confirmed and self.session.is_dirty():
            event.ignore()  # ask first; an answer other than Cancel closes the window again
            self.session.confirm_discard(self._close_now)
            return
        save_window_state(self)
        self.bridge.shutdown()
        self.session.close()
        super().closeEvent(event)

    def discard_and_close(self) -> None:
        """Close without asking, dropping unsaved changes and their recovery snapshot (automation, self-test)."""
        self.session.discard_changes()
        self._close_now()

    def _close_now(self) -> None:
        self._close_confirmed = True
        self.close()
