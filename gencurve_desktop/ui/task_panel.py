"""The task dock: task choice, parameters with defaults and tooltips, Run/Cancel, progress with ETA, preview."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDockWidget,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QScrollArea,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from gencurve_desktop.ui.qimage import to_pixmap
from gencurve_desktop.workers.jobs import DEFAULT_ITERATIONS, PARAMS, TASK_NAMES, TASKS, EditParams

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


def _input(parent, param, iterations_default) -> QWidget:
    """The Edit dock's widget for one declared parameter: a spin box in its range, or a choice."""
    if param.choices is not None:
        box = QComboBox(parent)
        box.addItems(list(param.choices))
        box.setCurrentText(str(param.default))
    else:
        value = iterations_default if param.default is None else param.default
        high = min(param.high, 2**31 - 1)  # a Qt spin box holds 32-bit integers
        decimals = 4 if param.kind is float else None
        box = _spin(parent, param.low, high, value, param.help, decimals=decimals, step=0.01 if decimals else None)
    box.setObjectName(param.widget or f"{param.name}Input")
    box.setToolTip(param.help)
    return box


def _value(widget):
    return widget.currentText() if isinstance(widget, QComboBox) else widget.value()


TOOL_KEYS = {Qt.Key_B, Qt.Key_E, Qt.Key_R, Qt.Key_P, Qt.Key_M}


class ToolKeysPassThrough(QObject):
    """Number fields take no letters: the single-letter tool keys (B, E, R, P, M) reach their shortcuts even
    while a spin box has the focus."""

    def eventFilter(self, watched, event) -> bool:
        if (
            event.type() == QEvent.ShortcutOverride
            and event.key() in TOOL_KEYS
            and event.modifiers() in (Qt.NoModifier, Qt.KeypadModifier)
        ):
            event.ignore()  # not the field's: let the window's shortcut have it
            return True
        return False


class WheelOnlyWhenFocused(QObject):
    """A field takes the wheel only once it has the focus (a click or Tab): scrolling the dock past it scrolls the
    dock and leaves its value alone, as in Krita and Qt Creator."""

    def __init__(self, scroll: QScrollArea) -> None:
        super().__init__(scroll)
        self.scroll = scroll

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Wheel and not watched.hasFocus():
            QCoreApplication.sendEvent(self.scroll.verticalScrollBar(), event)
            return True
        return False


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
        self.inputs: dict[str, QWidget] = {}  # one widget per declared parameter (workers.jobs.PARAMS)
        for param in PARAMS:
            self.inputs[param.name] = _input(body, param, DEFAULT_ITERATIONS[TASKS[0]])
        self.steps = _spin(body, 2, 1000, d.steps, "DDIM steps N (curve length)")
        self.auto_ref = QCheckBox("Pick the reference automatically", body)
        self.auto_ref.setObjectName("autoRefCheck")
        self.auto_ref.setToolTip("Remove: use the calmest background pixel around the mask as the reference q")
        self.preview_check = QCheckBox("Live preview", body)
        self.preview_check.setToolTip("Decode an intermediate result every 10 iterations")
        form.addRow("Task", self.task_combo)
        form.addRow(self.help)
        for param in PARAMS:
            form.addRow(param.label, self.inputs[param.name])
            if param.name == "refresh_every":
                form.addRow("DDIM steps", self.steps)
        self._user_set: set[str] = set()
        self.inputs["iterations"].valueChanged.connect(lambda _: self._user_set.add("iterations"))
        form.addRow(self.auto_ref)
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
        self.progress.setTextVisible(False)  # no "0 / 100" before the first job
        self.eta = QLabel("", body)
        self.eta.setObjectName("jobPhase")
        self.eta.setWordWrap(True)  # the ETA and elapsed time stay readable in a narrow dock
        self.result_card = QLabel(body)
        self.result_card.setObjectName("resultCard")
        self.result_card.setWordWrap(True)
        self.result_card.setTextFormat(Qt.RichText)
        self.result_card.setStyleSheet("QLabel#resultCard{border:1px solid #888;border-radius:4px;padding:6px}")
        self.result_card.hide()
        self.preview = QLabel(body)
        self.preview.setAlignment(Qt.AlignCenter)
        self.preview.setMinimumHeight(0)
        layout = QVBoxLayout(body)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.eta)
        layout.addWidget(self.result_card)
        layout.addWidget(self.preview)
        layout.addStretch(1)
        self.scroll = scroll = QScrollArea(self)  # the dock may be shorter than its form: it scrolls (768-px screens)
        scroll.setObjectName("taskScroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        scroll.setWidget(body)
        self.setWidget(scroll)
        self.task_combo.currentIndexChanged.connect(self._task_changed)
        self._task_changed()
        self._keys = ToolKeysPassThrough(self)
        for box in body.findChildren(QAbstractSpinBox):
            box.installEventFilter(self._keys)
            box.lineEdit().installEventFilter(self._keys)
        self._wheel = WheelOnlyWhenFocused(scroll)
        for field in [*body.findChildren(QAbstractSpinBox), *body.findChildren(QComboBox)]:
            field.setFocusPolicy(Qt.StrongFocus)  # no focus from the wheel
            field.installEventFilter(self._wheel)

    def bind_actions(self, run_action, cancel_action) -> None:
        self.run_button.setDefaultAction(run_action)
        self.cancel_button.setDefaultAction(cancel_action)

    @property
    def task(self) -> str:
        return self.task_combo.currentData()

    # the widgets by the names scripts use
    iterations = property(lambda self: self.inputs["iterations"])
    seed = property(lambda self: self.inputs["seed"])
    lr = property(lambda self: self.inputs["lr"])
    refresh = property(lambda self: self.inputs["refresh_every"])
    t_min = property(lambda self: self.inputs["t_min"])
    lam = property(lambda self: self.inputs["lam"])
    erode = property(lambda self: self.inputs["erode_px"])
    feather = property(lambda self: self.inputs["feather_px"])

    def _task_changed(self) -> None:
        """The task's own iteration count unless the user set one; parameters the task ignores are disabled."""
        if "iterations" not in self._user_set:
            box = self.inputs["iterations"]
            box.blockSignals(True)
            box.setValue(DEFAULT_ITERATIONS[self.task])
            box.blockSignals(False)
        for param in PARAMS:
            used = self.task in param.tasks
            self.inputs[param.name].setEnabled(used)
            self.inputs[param.name].setToolTip(param.help if used else f"{param.help} — not used by this task")
        self.help.setText(TASK_HELP[self.task])
        self.auto_ref.setEnabled(self.task == "remove")

    def reference(self, clicked):
        """The edit's reference: "auto" when asked for (remove), else the clicked point for the tasks that use it."""
        if self.task == "remove" and self.auto_ref.isChecked():
            return "auto"
        return clicked if self.task in ("transfer", "remove") else None

    def params(self) -> EditParams:
        values = {param.name: _value(self.inputs[param.name]) for param in PARAMS}
        return EditParams(**values, steps=self.steps.value(), preview_every=10 if self.preview_check.isChecked() else 0)

    def clear_outcome(self) -> None:
        """Back to the state before any job (the document closed): an empty bar, no outcome line."""
        if self.progress.maximum() != 0:  # not while a job's busy bar runs
            self.progress.setMaximum(1)
            self.progress.setValue(0)
            self.progress.setTextVisible(False)
            self.eta.setText("")
            self.result_card.hide()

    def show_progress(
        self,
        done: int,
        total: int,
        eta_s: float | None,
        elapsed_s: float | None = None,
        label: str = "Optimising: iteration",
    ) -> None:
        """A counted step: the bar, the count, the time left (when measured) and the time since the job began."""
        self.progress.setTextVisible(True)
        self.progress.setMaximum(total)
        self.progress.setValue(done)
        self.progress.setFormat("%v / %m")
        left = "" if eta_s is None else f" — about {eta_s:.0f} s left"
        spent = "" if elapsed_s is None else f" · {elapsed_s:.0f} s elapsed"
        self.eta.setText(f"{label} {done} of {total}{left}{spent}")

    def show_phase(self, text: str, total: int, elapsed_s: float | None = None) -> None:
        """A named step before or after the iterations (the bar is busy, the count is the task's)."""
        self._total = total
        self.progress.setTextVisible(True)
        self.progress.setMaximum(0)  # busy indicator
        self.progress.setFormat(f"0 / {total}")
        self.eta.setText(f"{text}…" + ("" if elapsed_s is None else f" · {elapsed_s:.0f} s elapsed"))
        if text != getattr(self, "_phase_text", None):  # once per step: the clock's redraws leave the scroll alone
            self.scroll.ensureWidgetVisible(self.eta)  # a short dock scrolls to the progress, not the parameters
        self._phase_text = text

    def show_outcome(self, text: str) -> None:
        """The job ended: the bar stops, the line says how."""
        self.progress.setMaximum(max(1, getattr(self, "_total", 0), self.progress.maximum()))
        self.progress.setValue(self.progress.maximum() if text.startswith("Done") else 0)
        self.progress.setTextVisible(True)
        self.progress.setFormat("%v / %m")
        self.eta.setText(text)

    def show_result(self, result) -> None:
        """The result card: what was done and whether the figure that matters moved the right way."""
        self.result_card.setText(result_card_html(result))
        self.result_card.show()
        QTimer.singleShot(0, lambda: self.scroll.ensureWidgetVisible(self.result_card))  # once it has its height

    def show_preview(self, rgb) -> None:
        pix = to_pixmap(rgb)
        self.preview.setPixmap(pix.scaled(220, 220, Qt.KeepAspectRatio, Qt.SmoothTransformation))


#: Which way each task wants its figure to move (curve distance: down; fluctuation: by the task).
WANTED = {"transfer": -1, "remove": -1, "saliency-up": 1, "saliency-down": -1, "blend": -1}


def result_card_html(result) -> str:
    """Before → after of the edit's figure, with a plain verdict, and its provenance."""
    if result.curve_distance_before is not None and result.curve_distance_after is not None:
        name, before, after = "Curve distance", result.curve_distance_before, result.curve_distance_after
        wanted = -1
    else:
        name, before, after = "Curve fluctuation", result.fluctuation_before, result.fluctuation_after
        wanted = WANTED[result.task]
    good = (after - before) * wanted > 0
    verdict = "moved as intended" if good else "did not improve — try more iterations or another reference"
    colour = "#2e7d32" if good else "#c62828"
    p = result.params
    return (
        f"<b>{result.title}</b>: {result.iterations} iterations in {result.seconds:.1f} s<br>"
        f"{name}: {before:.3f} → <b>{after:.3f}</b> <span style='color:{colour}'>({verdict})</span><br>"
        f"<small>seed {p.get('seed')}, lr {p.get('lr')}, gradient {p.get('gradient')}, model {result.model_id}"
        f"{', reference ' + str(tuple(result.ref)) if result.ref else ''}</small>"
    )
