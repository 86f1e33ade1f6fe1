"""The model settings dialog: model source, device, precision, cache folder."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
)

from gencurve_desktop.settings import ModelSettings


class SettingsDialog(QDialog):
    def __init__(self, current: ModelSettings, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("settingsDialog")
        self.setWindowTitle("Model settings")
        form = QFormLayout(self)
        self.source = QLineEdit(current.source)
        self.source.setToolTip("demo, a Hugging Face repo id (owner/name), a diffusers folder or a .safetensors file")
        browse_dir, browse_file = QPushButton("Folder…"), QPushButton("File…")
        browse_dir.clicked.connect(self._pick_dir)
        browse_file.clicked.connect(self._pick_file)
        row = QHBoxLayout()
        row.addWidget(self.source, 1)
        row.addWidget(browse_dir)
        row.addWidget(browse_file)
        form.addRow("Model", row)
        form.addRow(
            QLabel(
                "demo: tiny random-weights model (results are not meaningful); "
                "stabilityai/stable-diffusion-2-1-base: the paper's model (downloads ~5 GB once)"
            )
        )
        self.device = QComboBox()
        self.device.addItems(["auto", "cuda", "mps", "cpu"])
        self.device.setCurrentText(current.device)
        self.dtype = QComboBox()
        self.dtype.addItems(["auto", "bf16", "fp16", "fp32"])
        self.dtype.setCurrentText(current.dtype)
        self.cache = QLineEdit(current.cache_dir)
        self.cache.setPlaceholderText("standard Hugging Face cache")
        form.addRow("Device", self.device)
        form.addRow("Precision", self.dtype)
        form.addRow("Download cache", self.cache)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _pick_dir(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Diffusers model folder")
        if folder:
            self.source.setText(folder)

    def _pick_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Checkpoint", "", "Safetensors (*.safetensors)")
        if path:
            self.source.setText(path)

    def values(self) -> ModelSettings:
        return ModelSettings(
            self.source.text().strip() or "demo",
            self.device.currentText(),
            self.dtype.currentText(),
            self.cache.text().strip(),
        )
