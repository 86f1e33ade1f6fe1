"""The main window: canvas, docks, actions, files, the worker bridge and the undo stack."""

from __future__ import annotations

import copy
import os
import threading
import time
import uuid
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence, QUndoStack
from PySide6.QtWidgets import (
    QDialog,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressDialog,
    QSlider,
    QUndoView,
)

from gencurve_desktop.document import recovery
from gencurve_desktop.document.changes import (
    AddEdit,
    MaskStroke,
    MoveLayer,
    RemoveLayer,
    SetLayerProps,
    SetMask,
    SetReference,
)
from gencurve_desktop.document.document import Document, EditRecord
from gencurve_desktop.document.export import export_mask, export_merged
from gencurve_desktop.document.images import load_rgb
from gencurve_desktop.document.layers import Layer, composite
from gencurve_desktop.document.ora import load_ora, save_ora
from gencurve_desktop.engine.requests import EditRequest
from gencurve_desktop.errors import GenCurveError
from gencurve_desktop.settings import ModelSettings, settings_path
from gencurve_desktop.ui.canvas import CanvasView
from gencurve_desktop.ui.commands import ChangeCommand
from gencurve_desktop.ui.curve_dock import CurveDock
from gencurve_desktop.ui.layers_panel import LayersPanel
from gencurve_desktop.ui.settings_dialog import SettingsDialog
from gencurve_desktop.ui.task_panel import TaskPanel
from gencurve_desktop.workers.bridge import EngineBridge
from gencurve_desktop.workers.jobs import CurveJob, EditJob, ModelSpec, SaliencyJob

IMAGE_FILTER = "Images and projects (*.png *.jpg *.jpeg *.webp *.tif *.tiff *.bmp *.gif *.ora)"
PLOT_INTERVAL_MS = 100
MAX_RECENT = 8


class MainWindow(QMainWindow):
    """GenCurve Desktop's main window (automation contract: DESIGN §5 and the desktop issue)."""

    editLanded = Signal(str)  # layer id
    errorShown = Signal(str)

    def __init__(self, model: str | None = None, recovery_prompt: bool = True) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.setAcceptDrops(True)
        self.settings = QSettings(settings_path(), QSettings.IniFormat)
        self.model_settings = self._read_model_settings(model)
        self.doc: Document | None = None
        self.doc_key = uuid.uuid4().hex[:12]
        self.path: Path | None = None
        self.undo = QUndoStack(self)
        self.last_error: str | None = None
        self.saliency: np.ndarray | None = None
        self._pending_plot = None
        self._job_kind = None

        # 1. central canvas and docks
        self.canvas = CanvasView(self)
        self.setCentralWidget(self.canvas)
        self.curve_dock = CurveDock(self)
        self.task_dock = TaskPanel(self)
        self.layers_dock = LayersPanel(self)
        self.history_dock = QDockWidget("History", self)
        self.history_dock.setObjectName("historyDock")
        self.history_view = QUndoView(self.undo)
        self.history_view.setObjectName("historyView")
        self.history_dock.setWidget(self.history_view)
        self.addDockWidget(Qt.RightDockWidgetArea, self.task_dock)
        self.addDockWidget(Qt.RightDockWidgetArea, self.layers_dock)
        self.addDockWidget(Qt.RightDockWidgetArea, self.history_dock)
        self.tabifyDockWidget(self.layers_dock, self.history_dock)
        self.layers_dock.raise_()
        self.addDockWidget(Qt.BottomDockWidgetArea, self.curve_dock)

        # 2. actions, menus, status bar
        self._make_actions()
        self._make_menus()
        self.demo_notice = QLabel("  Demo model: random weights, results are not meaningful  ")
        self.demo_notice.setObjectName("demoNotice")
        self.demo_notice.setStyleSheet("background:#8a5a00;color:white;font-weight:bold;border-radius:3px")
        self.model_label = QLabel("no model")
        self.coords = QLabel("")
        self.saliency_opacity = QSlider(Qt.Horizontal)
        self.saliency_opacity.setObjectName("saliencyOpacity")
        self.saliency_opacity.setRange(0, 100)
        self.saliency_opacity.setValue(60)
        self.saliency_opacity.setMaximumWidth(100)
        self.saliency_opacity.setToolTip("Saliency overlay opacity")
        self.saliency_opacity.valueChanged.connect(lambda _: self._show_saliency())
        bar = self.statusBar()
        bar.addWidget(self.coords, 1)
        bar.addPermanentWidget(self.saliency_opacity)
        self.prediction_label = QLabel("")
        self.prediction_label.setObjectName("predictionLabel")
        bar.addPermanentWidget(self.prediction_label)
        bar.addPermanentWidget(self.model_label)
        bar.addPermanentWidget(self.demo_notice)
        self.demo_notice.setVisible(self.model_settings.source == "demo")

        # 3. the engine worker
        self.bridge = EngineBridge(self)
        w = self.bridge.worker
        w.modelLoading.connect(self._model_loading)
        w.modelLoaded.connect(self._model_loaded)
        w.modelFailed.connect(self._model_failed)
        w.modelProgress.connect(self._model_progress)
        w.progress.connect(self._edit_progress)
        w.editFinished.connect(self._edit_finished)
        w.curveFinished.connect(self._curve_finished)
        w.saliencyFinished.connect(self._saliency_finished)
        w.jobFailed.connect(self._job_failed)
        w.jobCancelled.connect(self._job_cancelled)
        self.bridge.busyChanged.connect(self._busy_changed)
        self.plot_timer = QTimer(self)
        self.plot_timer.setInterval(PLOT_INTERVAL_MS)
        self.plot_timer.timeout.connect(self._flush_plot)
        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(recovery.AUTOSAVE_INTERVAL_S * 1000)
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start()

        # 4. wiring of canvas and docks
        self.canvas.cursorMoved.connect(self._cursor_moved)
        self.canvas.strokeFinished.connect(self._stroke_finished)
        self.canvas.referenceClicked.connect(lambda x, y: self._push(SetReference((x, y))))
        self.canvas.probeClicked.connect(self._probe)
        self.layers_dock.visibilityToggled.connect(self._layer_visibility)
        self.layers_dock.renamed.connect(self._layer_renamed)
        self.layers_dock.opacityChanged.connect(lambda i, o: self._push(SetLayerProps(i, opacity=o)))
        self.layers_dock.deleteRequested.connect(self._layer_delete)
        self.layers_dock.moveRequested.connect(self._layer_move)
        self.undo.cleanChanged.connect(self._clean_changed)

        self.setWindowTitle("GenCurve Desktop")
        self.resize(1400, 900)
        self._set_document(None)
        if model is None and not self.settings.contains("model/source"):
            self.demo_notice.setVisible(False)  # no model yet: the notice comes with the demo, if chosen
            QTimer.singleShot(0, self._first_run)  # no model chosen yet: offer the choices first
        else:
            self.load_model()
        if recovery_prompt:
            QTimer.singleShot(0, self._offer_recovery)

    # ------------------------------------------------------------------ actions
    def _action(self, name, text, shortcut=None, slot=None, checkable=False, tip=None) -> QAction:
        a = QAction(text, self)
        a.setObjectName(name)
        if shortcut:
            a.setShortcut(QKeySequence(shortcut))
        a.setCheckable(checkable)
        if tip:
            a.setToolTip(tip)
            a.setStatusTip(tip)
        if slot:
            a.triggered.connect(slot)
        self.addAction(a)
        return a

    def _make_actions(self) -> None:
        A = self._action
        self.actionOpen = A("actionOpen", "&Open…", QKeySequence.Open, self._open_dialog)
        self.actionSave = A("actionSave", "&Save", QKeySequence.Save, self._save)
        self.actionSaveAs = A("actionSaveAs", "Save &As…", QKeySequence.SaveAs, self._save_as)
        self.actionExport = A("actionExport", "&Export Image…", "Ctrl+E", self._export)
        self.actionExportMask = A("actionExportMask", "Export &Mask…", None, self._export_mask)
        self.actionQuit = A("actionQuit", "&Quit", QKeySequence.Quit, self.close)
        self.actionUndo = self.undo.createUndoAction(self, "&Undo")
        self.actionUndo.setObjectName("actionUndo")
        self.actionUndo.setShortcut(QKeySequence.Undo)
        self.actionRedo = self.undo.createRedoAction(self, "&Redo")
        self.actionRedo.setObjectName("actionRedo")
        self.actionRedo.setShortcut(QKeySequence.Redo)
        self.addAction(self.actionUndo)
        self.addAction(self.actionRedo)
        self.actionBrush = A("actionBrush", "&Brush", "B", lambda: self.set_tool("brush"), True, "Paint the mask")
        self.actionEraser = A("actionEraser", "&Eraser", "E", lambda: self.set_tool("eraser"), True, "Erase the mask")
        self.actionReference = A(
            "actionReference", "&Reference", "R", lambda: self.set_tool("reference"), True, "Click the reference pixel"
        )
        self.actionProbe = A(
            "actionProbe",
            "Curve &Probe",
            "P",
            lambda: self.set_tool("probe"),
            True,
            "Click any pixel to plot its generation curve",
        )
        self.actionClearMask = A("actionClearMask", "&Clear Mask", "Ctrl+Shift+A", self._clear_mask)
        self.actionInvertMask = A("actionInvertMask", "&Invert Mask", "Ctrl+I", self._invert_mask)
        self.actionRun = A("actionRun", "Run", "Ctrl+Return", self.run_edit, tip="Run the edit (Ctrl+Enter)")
        self.actionCancel = A("actionCancel", "Cancel", "Escape", self.cancel_job, tip="Cancel the job (Esc)")
        self.actionSaliencyMap = A(
            "actionSaliencyMap",
            "&Saliency Map",
            "M",
            self._toggle_saliency,
            True,
            "Show the curve-fluctuation saliency map",
        )
        self.actionCompare = A(
            "actionCompare",
            "Compare with &Original",
            "\\",
            self._compare,
            True,
            "Show the original photo instead of the result",
        )
        self.actionZoomFit = A("actionZoomFit", "Zoom to &Fit", "Ctrl+0", lambda: self.canvas.zoom_fit())
        self.actionZoom100 = A("actionZoom100", "Zoom &100 %", "Ctrl+1", lambda: self.canvas.zoom_100())
        self.actionSettings = A("actionSettings", "Model &Settings…", None, self._settings_dialog)
        self.actionExportPlot = A("actionExportPlot", "Export Plot as PNG…", None, self._export_plot)
        self.actionExportCsv = A("actionExportCsv", "Export Curves as CSV…", None, self._export_csv)
        self.actionClearProbes = A("actionClearProbes", "Clear Probe Curves", None, self.curve_dock.clear_probes)
        self.actionCancel.setEnabled(False)
        self.actionBrush.setChecked(True)
        self.task_dock.bind_actions(self.actionRun, self.actionCancel)

    def _make_menus(self) -> None:
        mb = self.menuBar()
        m = mb.addMenu("&File")
        for a in (self.actionOpen,):
            m.addAction(a)
        self.recent_menu = m.addMenu("Open &Recent")
        self._fill_recent()
        for a in (self.actionSave, self.actionSaveAs, self.actionExport, self.actionExportMask):
            m.addAction(a)
        m.addSeparator()
        m.addAction(self.actionSettings)
        m.addSeparator()
        m.addAction(self.actionQuit)
        m = mb.addMenu("&Edit")
        for a in (self.actionUndo, self.actionRedo, self.actionClearMask, self.actionInvertMask):
            m.addAction(a)
        m = mb.addMenu("&Tools")
        for a in (self.actionBrush, self.actionEraser, self.actionReference, self.actionProbe):
            m.addAction(a)
        m = mb.addMenu("&View")
        for a in (self.actionZoomFit, self.actionZoom100, self.actionSaliencyMap, self.actionCompare):
            m.addAction(a)
        m.addSeparator()
        for d in (self.curve_dock, self.task_dock, self.layers_dock, self.history_dock):
            m.addAction(d.toggleViewAction())
        m = mb.addMenu("&Run")
        for a in (self.actionRun, self.actionCancel):
            m.addAction(a)
        m = mb.addMenu("&Curves")
        for a in (self.actionExportPlot, self.actionExportCsv, self.actionClearProbes):
            m.addAction(a)
        tb = self.addToolBar("Tools")
        tb.setObjectName("toolsToolBar")
        for a in (
            self.actionOpen,
            self.actionSave,
            None,
            self.actionBrush,
            self.actionEraser,
            self.actionReference,
            self.actionProbe,
            None,
            self.actionRun,
            self.actionCancel,
            None,
            self.actionSaliencyMap,
            self.actionCompare,
        ):
            tb.addSeparator() if a is None else tb.addAction(a)

    def set_tool(self, tool: str) -> None:
        for name, action in (
            ("brush", self.actionBrush),
            ("eraser", self.actionEraser),
            ("reference", self.actionReference),
            ("probe", self.actionProbe),
        ):
            action.setChecked(name == tool)
        self.canvas.set_tool(tool)

    # ------------------------------------------------------------------ model
    def _read_model_settings(self, model: str | None) -> ModelSettings:
        s = self.settings
        ms = ModelSettings(
            str(s.value("model/source", "demo")),
            str(s.value("model/device", "auto")),
            str(s.value("model/dtype", "auto")),
            str(s.value("model/prediction_type", "auto")),
            str(s.value("model/cache_dir", "")),
        )
        if model:
            ms.source = model
        return ms

    def load_model(self) -> None:
        ms = self.model_settings
        if ms.cache_dir:
            os.environ["HF_HUB_CACHE"] = ms.cache_dir
        self.bridge.load_model(ModelSpec(ms.source, ms.device, ms.dtype, ms.prediction_type))

    def _model_loading(self, source: str) -> None:
        self.model_label.setText(f"loading {source}…")
        self.statusBar().showMessage(f"Loading model {source}…")
        dialog = QProgressDialog(
            f"Loading model {source}…\n(a first download can take several minutes)", None, 0, 0, self
        )
        dialog.setObjectName("modelLoadingDialog")
        dialog.setWindowTitle("GenCurve Desktop")
        dialog.setMinimumDuration(400)  # only for loads that take a while
        dialog.setAutoClose(False)
        self.loading_dialog = dialog

    def _model_progress(self, stage: str, done: int, total: int) -> None:
        dialog = getattr(self, "loading_dialog", None)
        if dialog is None or stage != "download" or total <= 0:
            return
        source = self.model_settings.source
        if done >= total:  # downloaded: back to a busy bar while the weights load
            dialog.setRange(0, 0)
            dialog.setLabelText(f"Loading model {source}…")
            return
        text = f"Downloading {source}: {done / 1e9:.2f} of {total / 1e9:.2f} GB"
        dialog.setRange(0, 1000)
        dialog.setValue(round(done / total * 1000))
        dialog.setLabelText(text)
        self.statusBar().showMessage(text)

    def _close_loading_dialog(self) -> None:
        dialog = getattr(self, "loading_dialog", None)
        if dialog is not None:
            dialog.reset()
            dialog.deleteLater()
            self.loading_dialog = None

    def _model_loaded(self, model_id: str, random_weights: bool, prediction: str = "") -> None:
        self._close_loading_dialog()
        self.model_label.setText(model_id)
        self.model_label.setToolTip(f"predicts {prediction}" if prediction else "")
        self.prediction_label.setText(prediction.split(" ")[0])
        self.prediction_label.setToolTip(f"The U-Net predicts {prediction}; change it in File ▸ Model Settings")
        self.demo_notice.setVisible(random_weights)
        self.statusBar().showMessage(f"Model {model_id} ready", 3000)

    def _model_failed(self, message: str) -> None:
        self._close_loading_dialog()
        self.model_label.setText("no model")
        self.show_error("The model could not be loaded", message)

    def _settings_dialog(self) -> None:
        dialog = SettingsDialog(self.model_settings, self)
        if dialog.exec():
            self._store_model_settings(dialog.values())
            self.load_model()

    def _first_run(self) -> None:
        """First start: the welcome dialog chooses the model; closing it uses the demo for this session only."""
        dialog = SettingsDialog(self.model_settings, self, first_run=True)
        self.first_run_dialog = dialog

        def answered(result: int) -> None:
            if result == QDialog.Accepted:
                self._store_model_settings(dialog.values())
            self.first_run_dialog = None
            self.load_model()

        dialog.finished.connect(answered)
        dialog.open()

    def _store_model_settings(self, values: ModelSettings) -> None:
        self.model_settings = values
        for key, value in vars(values).items():
            self.settings.setValue(f"model/{key}", value)
        self.settings.sync()

    # ------------------------------------------------------------------ documents
    def _set_document(self, doc: Document | None, path: Path | None = None) -> None:
        self.doc = doc
        self.path = path
        self.undo.clear()
        self.saliency = None
        self.actionSaliencyMap.setChecked(False)
        has = doc is not None
        for a in (
            self.actionSave,
            self.actionSaveAs,
            self.actionExport,
            self.actionExportMask,
            self.actionRun,
            self.actionClearMask,
            self.actionInvertMask,
            self.actionSaliencyMap,
            self.actionCompare,
        ):
            a.setEnabled(has and not (a is self.actionRun and self.bridge.busy))
        self.curve_dock.clear_run()
        self.refresh(fit=True)

    def refresh(self, fit: bool = False) -> None:
        """Redraw everything that shows the document."""
        if self.doc is None:
            self.canvas.set_image(np.full((64, 64, 3), 48, np.uint8), fit=True)
            self.canvas.set_mask(np.zeros((64, 64), bool))
            self.layers_dock.show_layers([])
            self._update_title()
            return
        shown = self.doc.layers[:1] if self.actionCompare.isChecked() else self.doc.layers
        self.canvas.set_image(composite(shown, self.doc.size), fit=fit)
        self.canvas.set_mask(self.doc.mask)
        self.canvas.set_reference(self.doc.references[0] if self.doc.references else None)
        self.layers_dock.show_layers(self.doc.layers)
        self._update_title()

    def _clean_changed(self, _clean: bool) -> None:
        self._update_title()

    def _update_title(self) -> None:
        name = self.path.name if self.path else ("Untitled" if self.doc else "")
        dirty = "*" if self.doc is not None and not self.undo.isClean() else ""
        self.setWindowTitle(f"{name}{dirty} — GenCurve Desktop" if name else "GenCurve Desktop")

    def open_path(self, path) -> bool:
        """Open an image or an .ora project; on failure show an error and keep the current document."""
        path = Path(path)
        try:
            if path.suffix.lower() == ".ora":
                doc = load_ora(path)
                project = path
            else:
                doc = Document.from_image(load_rgb(path))
                project = None
        except GenCurveError as e:
            self.show_error("Cannot open the file", str(e))
            return False
        self._set_document(doc, project)
        self._add_recent(path)
        self.statusBar().showMessage(f"Opened {path.name}", 3000)
        return True

    def save_path(self, path) -> bool:
        """Save the document as OpenRaster at ``path`` (atomically)."""
        if self.doc is None:
            return False
        path = Path(path)
        if path.suffix.lower() != ".ora":
            path = path.with_suffix(".ora")
        try:
            save_ora(self.doc, path)
        except (GenCurveError, OSError) as e:
            self.show_error("Cannot save the project", str(e))
            return False
        self.path = path
        self.undo.setClean()
        recovery.discard(self.doc_key)
        self._add_recent(path)
        self._update_title()
        self.statusBar().showMessage(f"Saved {path.name}", 3000)
        return True

    def _open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open", str(self._last_dir()), IMAGE_FILTER)
        if path:
            self.open_path(path)

    def _save(self) -> None:
        if self.path is None:
            self._save_as()
        else:
            self.save_path(self.path)

    def _save_as(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Save project", str(self._last_dir() / "untitled.ora"), "OpenRaster (*.ora)"
        )
        if path:
            self.save_path(path)

    def _export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export image", str(self._last_dir() / "export.png"), "Images (*.png *.jpg *.webp *.tif)"
        )
        if path:
            self._guard(lambda: export_merged(self.doc, path), "Cannot export the image")

    def _export_mask(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export mask", str(self._last_dir() / "mask.png"), "PNG (*.png)")
        if path:
            self._guard(lambda: export_mask(self.doc, path), "Cannot export the mask")

    def _export_plot(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export plot", "curves.png", "PNG (*.png)")
        if path:
            self.curve_dock.export_png(path)

    def _export_csv(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export curves", "curves.csv", "CSV (*.csv)")
        if path:
            self._guard(lambda: self.curve_dock.export_csv(path), "Cannot export the curves")

    def _guard(self, fn, title: str) -> None:
        try:
            fn()
        except (GenCurveError, OSError) as e:
            self.show_error(title, str(e))

    def _last_dir(self) -> Path:
        recent = self.recent_files()
        return Path(recent[0]).parent if recent else Path.home()

    def recent_files(self) -> list[str]:
        value = self.settings.value("files/recent", [])
        return [value] if isinstance(value, str) else list(value or [])

    def _add_recent(self, path: Path) -> None:
        items = [str(path.resolve())] + [p for p in self.recent_files() if p != str(path.resolve())]
        self.settings.setValue("files/recent", items[:MAX_RECENT])
        self._fill_recent()

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for p in self.recent_files():
            self.recent_menu.addAction(Path(p).name, lambda p=p: self.open_path(p)).setToolTip(p)
        self.recent_menu.setEnabled(bool(self.recent_files()))

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        urls = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.open_path(urls[0])

    # ------------------------------------------------------------------ recovery
    def autosave(self) -> None:
        """Snapshot the document into the recovery folder, on a helper thread (the UI never waits)."""
        if self.doc is None or self.undo.isClean():
            return
        snapshot = copy.deepcopy(self.doc)
        key, source = self.doc_key, str(self.path) if self.path else None
        threading.Thread(target=self._autosave_now, args=(snapshot, key, source), daemon=True).start()

    @staticmethod
    def _autosave_now(snapshot, key, source) -> None:
        try:
            recovery.autosave(snapshot, key, source)
        except Exception:  # a failed autosave must never disturb the session
            pass

    def _offer_recovery(self) -> None:
        entries = recovery.list_recovery()
        if not entries:
            return
        entry = entries[0]
        box = QMessageBox(
            QMessageBox.Question,
            "Recover unsaved work?",
            f"GenCurve found unsaved work from {time.ctime(entry.saved_at)}"
            f"{' (' + Path(entry.source).name + ')' if entry.source else ''}. Restore it?",
            QMessageBox.Yes | QMessageBox.Discard,
            self,
        )
        box.setObjectName("recoveryPrompt")
        box.finished.connect(lambda result: self._recovery_answer(entry, result))
        box.open()
        self.recovery_box = box

    def _recovery_answer(self, entry, result) -> None:
        if result == QMessageBox.Yes:
            try:
                self._set_document(recovery.restore(entry), None)
                self.doc_key = entry.document_key
                return
            except GenCurveError as e:
                self.show_error("Cannot restore the recovery file", str(e))
        recovery.discard(entry.document_key)

    # ------------------------------------------------------------------ undoable document changes
    def _push(self, change) -> None:
        if self.doc is not None:
            self.undo.push(ChangeCommand(self.doc, change, self.refresh))

    def _stroke_finished(self, stroke: np.ndarray, erase: bool) -> None:
        if self.doc is not None:
            self._push(MaskStroke.paint(self.doc, stroke, erase))

    def paint_mask(self, stroke: np.ndarray, erase: bool = False) -> None:
        """Apply one brush stroke (bool, image size) as one undo step (also used by scripts)."""
        self._stroke_finished(stroke, erase)

    def _clear_mask(self) -> None:
        if self.doc is not None and self.doc.mask.any():
            self._push(SetMask(np.zeros_like(self.doc.mask), label="Clear mask"))

    def _invert_mask(self) -> None:
        if self.doc is not None:
            self._push(SetMask(~self.doc.mask, label="Invert mask"))

    def _layer_visibility(self, layer_id: str, visible: bool) -> None:
        layer = self.doc.layers[self.doc.layer_index(layer_id)]
        if layer.visible != visible:
            self._push(SetLayerProps(layer_id, visible=visible, label="Show layer" if visible else "Hide layer"))

    def _layer_renamed(self, layer_id: str, name: str) -> None:
        layer = self.doc.layers[self.doc.layer_index(layer_id)]
        if name and layer.name != name:
            self._push(SetLayerProps(layer_id, name=name, label="Rename layer"))

    def _layer_delete(self, layer_id: str) -> None:
        if len(self.doc.layers) > 1:
            self._push(RemoveLayer(layer_id))

    def _layer_move(self, layer_id: str, direction: int) -> None:
        i = self.doc.layer_index(layer_id)
        j = i + direction
        if 0 <= j < len(self.doc.layers):
            self._push(MoveLayer(layer_id, j))

    def _compare(self) -> None:
        self.refresh()

    def _cursor_moved(self, x: int, y: int) -> None:
        self.coords.setText("" if x < 0 else f"x {x}  y {y}")

    # ------------------------------------------------------------------ jobs
    def run_edit(self) -> bool:
        """Start the selected edit on the current composite, mask and reference."""
        if self.doc is None or self.bridge.busy:
            return False
        task = self.task_dock.task
        ref = self.doc.references[0] if self.doc.references and task in ("transfer", "remove") else None
        request = EditRequest(task, self.doc.composite(), self.doc.mask.copy(), ref, self.task_dock.params())
        try:
            request.validate()
        except GenCurveError as e:
            self.show_error("Cannot run this edit", str(e))
            return False
        self._job_kind = "edit"
        self.curve_dock.clear_run()
        self._started = time.monotonic()
        self.task_dock.show_progress(0, request.params.iterations, None)
        self.task_dock.preview.clear()
        self.plot_timer.start()
        return self.bridge.submit(EditJob(request))

    def cancel_job(self) -> None:
        if self.bridge.busy:
            self.bridge.cancel()
            self.statusBar().showMessage("Cancelling…")

    def _probe(self, x: int, y: int) -> None:
        if self.doc is None:
            return
        if not self.bridge.submit(CurveJob(self.doc.composite(), (x, y), self.task_dock.steps.value())):
            self.statusBar().showMessage("Busy: the probe waits until the running job ends", 3000)
            return
        self._job_kind = "curve"
        self.statusBar().showMessage(f"Computing the curve of ({x}, {y})…")

    def _toggle_saliency(self) -> None:
        if self.actionSaliencyMap.isChecked() and self.saliency is None and self.doc is not None:
            if self.bridge.submit(SaliencyJob(self.doc.composite(), self.task_dock.steps.value())):
                self._job_kind = "saliency"
                self.statusBar().showMessage("Computing the saliency map…")
            else:
                self.actionSaliencyMap.setChecked(False)
        self._show_saliency()

    def _show_saliency(self) -> None:
        self.canvas.set_saliency(self.saliency, self.actionSaliencyMap.isChecked(), self.saliency_opacity.value() / 100)

    def _busy_changed(self, busy: bool) -> None:
        self.actionRun.setEnabled(not busy and self.doc is not None)
        self.actionCancel.setEnabled(busy)
        if not busy:
            self.plot_timer.stop()
            self._flush_plot()

    def _edit_progress(self, ev) -> None:
        elapsed = time.monotonic() - self._started
        eta = elapsed / ev.iteration * (ev.total - ev.iteration) if ev.iteration else None
        self.task_dock.show_progress(ev.iteration, ev.total, eta)
        self._pending_plot = ev
        if ev.preview is not None and self.task_dock.preview_check.isChecked():
            self.task_dock.show_preview(ev.preview)

    def _flush_plot(self) -> None:
        ev, self._pending_plot = self._pending_plot, None
        if ev is not None:
            self.curve_dock.set_live(ev.timesteps, ev.source_curve, ev.reference_curve)

    def _edit_finished(self, result) -> None:
        self._pending_plot = None  # the final curves below replace any live frame still waiting
        if self.doc is None or result.image.shape[:2] != (self.doc.height, self.doc.width):
            return  # the document changed under the job: drop the result
        record = EditRecord(result.provenance(), result.mask)
        layer = Layer.from_rgb(f"{result.title} {len(self.doc.edits) + 1}", result.image)
        self._push(AddEdit(layer, record, label=result.title))
        self.curve_dock.set_before(result.timesteps, result.source_curve_before, result.reference_curve_before)
        self.curve_dock.set_live(result.timesteps, result.source_curve_after, result.reference_curve_after)
        self.saliency = None
        self._show_saliency()
        self.statusBar().showMessage(f"{result.title}: {result.iterations} iterations in {result.seconds:.1f} s", 5000)
        self.editLanded.emit(layer.id)
        self.autosave()

    def _curve_finished(self, point, curves) -> None:
        self.curve_dock.add_probe(f"pixel ({point[0]}, {point[1]})", curves.timesteps, curves.rates[0])
        self.statusBar().showMessage(f"Curve of ({point[0]}, {point[1]}) added", 3000)

    def _saliency_finished(self, smap) -> None:
        self.saliency = smap.image
        self._show_saliency()
        self.statusBar().showMessage(f"Saliency map in {smap.seconds:.1f} s", 3000)

    def _job_failed(self, kind: str, message: str) -> None:
        if self._job_kind == "saliency":
            self.actionSaliencyMap.setChecked(False)
        self.show_error("The job failed", message)

    def _job_cancelled(self) -> None:
        if self._job_kind == "saliency":
            self.actionSaliencyMap.setChecked(False)
        self.statusBar().showMessage("Cancelled; nothing was changed", 4000)

    # ------------------------------------------------------------------ errors and closing
    def show_error(self, title: str, message: str) -> None:
        """A non-blocking error dialog; the document and the app stay as they were."""
        self.last_error = message
        box = QMessageBox(QMessageBox.Critical, title, message, QMessageBox.Ok, self)
        box.setObjectName("errorDialog")
        box.open()
        self.error_box = box
        self.errorShown.emit(message)

    def closeEvent(self, event) -> None:
        self.bridge.shutdown()
        if self.doc is not None and self.undo.isClean():
            recovery.discard(self.doc_key)
        super().closeEvent(event)
