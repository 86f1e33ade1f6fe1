"""The task dock: task choice, parameters with defaults and tooltips, Run/Cancel, progress with ETA, preview."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDockWidget,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from gencurve_desktop.ui.qimage import to_pixmap
from gencurve_desktop.workers.jobs import DEFAULT_ITERATIONS, TASK_NAMES, TASKS, EditParams

TASK_HELP = {
    "transfer": "Give the masked region the colour, material and texture of the reference pixel (R tool).",
    "remove": "Replace the masked object by background; a reference click on the background helps.",
    "saliency-up": "Make the masked object more eye-catching, keeping what it is.",
    "saliency-down": "Make the masked object recede, keeping what it is.",
    "blend": "Make the seam around a pasted object (the mask) disappear.",
}


def _spin(parent, lo, hi, value, tip, name=None, decimals=None, step=None):
    box = QDoubleSpinBox(parent) if decimals is not None else QSpinBox(parent)
    if decimals is not None:
        box.setDecimals(decimals)
    box.setRange(lo, hi)
    box.setValue(value)
    if step:
        box.setSingleStep(step)
    box.setToolTip(tip)
    if name:
        box.setObjectName(name)
    return box


class TaskPanel(QDockWidget):
    def __init__(self, parent=None) -> None:
        super().__init__("Edit", parent)
        self.setObjectName("taskDock")
        body = QWidget()
        form = QFormLayout()
        d = EditParams()
        self.task_combo = QComboBox(body)
        self.task_combo.setObjectName("taskCombo")
        for task in TASKS:
            self.task_combo.addItem(TASK_NAMES[task], task)
        self.help = QLabel(body)
        self.help.setWordWrap(True)
        self.iterations = _spin(
            body, 1, 5000, DEFAULT_ITERATIONS[TASKS[0]], "Optimisation iterations", "iterationsSpin"
        )
        self.seed = _spin(body, 0, 2**31 - 1, d.seed, "Random seed: the same seed gives the same result", "seedSpin")
        self.lr = _spin(body, 0.0001, 10, d.lr, "Adam learning rate on x_T", decimals=4, step=0.01)
        self.refresh = _spin(body, 1, 1000, d.refresh_every, "Refresh trajectory and curves every k iterations")
        self.steps = _spin(body, 2, 1000, d.steps, "DDIM steps N (curve length)")
        self.t_min = _spin(body, 0, 999, d.t_min, "Losses use timesteps t >= t_min")
        self.lam = _spin(body, 0, 100, d.lam, "Feature alignment weight (saliency tasks)", decimals=2, step=0.1)
        self.erode = _spin(body, 1, 256, d.erode_px, "Blend: width of the boundary band, pixels")
        self.feather = _spin(body, 0, 256, d.feather_px, "Feather of the result outside the mask, pixels")
        self.preview_check = QCheckBox("Live preview", body)
        self.preview_check.setToolTip("Decode an intermediate result every 10 iterations")
        form.addRow("Task", self.task_combo)
        form.addRow(self.help)
        form.addRow("Iterations", self.iterations)
        form.addRow("Seed", self.seed)
        form.addRow("Learning rate", self.lr)
        form.addRow("Refresh every", self.refresh)
        form.addRow("DDIM steps", self.steps)
        form.addRow("t_min", self.t_min)
        form.addRow("λ (features)", self.lam)
        form.addRow("Blend band (px)", self.erode)
        form.addRow("Feather (px)", self.feather)
        form.addRow(self.preview_check)
        self.run_button = QToolButton(body)
        self.cancel_button = QToolButton(body)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        self.progress = QProgressBar(body)
        self.progress.setObjectName("jobProgress")
        self.progress.setFormat("%v / %m")
        self.progress.setValue(0)
        self.eta = QLabel("", body)
        self.preview = QLabel(body)
        self.preview.setAlignment(Qt.AlignCenter)
        self.preview.setMinimumHeight(0)
        layout = QVBoxLayout(body)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.eta)
        layout.addWidget(self.preview)
        layout.addStretch(1)
        self.setWidget(body)
        self.task_combo.currentIndexChanged.connect(self._task_changed)
        self._task_changed()

    def bind_actions(self, run_action, cancel_action) -> None:
        self.run_button.setDefaultAction(run_action)
        self.cancel_button.setDefaultAction(cancel_action)

    @property
    def task(self) -> str:
        return self.task_combo.currentData()

    def _task_changed(self) -> None:
        self.iterations.setValue(DEFAULT_ITERATIONS[self.task])
        self.help.setText(TASK_HELP[self.task])

    def params(self) -> EditParams:
        return EditParams(
            iterations=self.iterations.value(),
            lr=self.lr.value(),
            refresh_every=self.refresh.value(),
            t_min=self.t_min.value(),
            lam=self.lam.value(),
            erode_px=self.erode.value(),
            feather_px=self.feather.value(),
            steps=self.steps.value(),
            seed=self.seed.value(),
            preview_every=10 if self.preview_check.isChecked() else 0,
        )

    def show_progress(self, done: int, total: int, eta_s: float | None) -> None:
        self.progress.setMaximum(total)
        self.progress.setValue(done)
        self.eta.setText("" if eta_s is None else f"about {eta_s:.0f} s left")

    def show_preview(self, rgb) -> None:
        pix = to_pixmap(rgb)
        self.preview.setPixmap(pix.scaled(220, 220, Qt.KeepAspectRatio, Qt.SmoothTransformation))
