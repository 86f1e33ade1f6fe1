"""What the window remembers between sessions: its size and dock layout, and the Edit dock's last task and
parameters (settings groups ``window/`` and ``edit/``)."""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QSpinBox

LAYOUT_VERSION = 1  # bump when docks are added or renamed: an old saved layout is then ignored


def _edit_widgets(panel) -> dict:
    """The Edit dock's inputs by settings key."""
    widgets = {f"edit/{name}": widget for name, widget in panel.inputs.items()}
    widgets.update({"edit/steps": panel.steps, "edit/preview": panel.preview_check, "edit/auto_ref": panel.auto_ref})
    return widgets


def save_window_state(window) -> None:
    """Store the geometry, dock layout, task and parameters (when the window closes, and soon after a change)."""
    s = window.settings
    with s.batch():
        _save(window, s)


SAVE_DEBOUNCE_MS = 400


def save_when_changed(window) -> None:
    """Write the task and parameters soon after each change, not only on a clean quit: a crash or a kill keeps
    the last choice (one write per burst of changes)."""
    timer = QTimer(window, singleShot=True, interval=SAVE_DEBOUNCE_MS, timeout=lambda: save_window_state(window))
    window._settings_timer = timer
    panel = window.task_dock
    panel.task_combo.currentIndexChanged.connect(timer.start)
    for widget in _edit_widgets(panel).values():
        if isinstance(widget, QCheckBox):
            widget.toggled.connect(timer.start)
        elif isinstance(widget, QComboBox):
            widget.currentIndexChanged.connect(timer.start)
        else:
            widget.valueChanged.connect(timer.start)


def _save(window, s) -> None:
    s.setValue("window/geometry", _b64(window.saveGeometry()))
    s.setValue("window/state", _b64(window.saveState(LAYOUT_VERSION)))
    panel = window.task_dock
    s.setValue("edit/task", panel.task)
    s.setValue("edit/user_set", sorted(panel._user_set))
    for key, widget in _edit_widgets(panel).items():
        if isinstance(widget, QCheckBox):
            s.setValue(key, widget.isChecked())
        elif isinstance(widget, QComboBox):
            s.setValue(key, widget.currentText())
        else:
            s.setValue(key, widget.value())


def _b64(data: QByteArray) -> str:
    return bytes(data.toBase64()).decode("ascii")


def _from_b64(value) -> QByteArray | None:
    """A stored geometry/state, or None for anything that is not a plain base64 string."""
    if not isinstance(value, str) or len(value) > 65536:
        return None
    data = QByteArray.fromBase64(value.encode("ascii", "replace"), QByteArray.Base64Option.AbortOnBase64DecodingErrors)
    return data if data.size() else None


def fit_to_screen(window) -> None:
    """Keep the window inside its screen's available area (Krita's habit): a first size or a stored one from a
    bigger screen or another scale factor is shrunk to fit and moved back on screen."""
    screen = window.screen() or QGuiApplication.primaryScreen()
    if screen is None:
        return
    area = screen.availableGeometry()
    frame = window.frameGeometry()
    extra_w, extra_h = frame.width() - window.width(), frame.height() - window.height()  # title bar and borders
    width = min(window.width(), area.width() - extra_w)
    height = min(window.height(), area.height() - extra_h)
    if (width, height) != (window.width(), window.height()):
        window.resize(max(width, 320), max(height, 240))
    frame = window.frameGeometry()
    x = min(max(frame.x(), area.x()), area.x() + area.width() - frame.width())
    y = min(max(frame.y(), area.y()), area.y() + area.height() - frame.height())
    if (x, y) != (frame.x(), frame.y()):
        window.move(x, y)


def restore_window_state(window) -> None:
    """Bring back what ``save_window_state`` stored; anything missing or unreadable keeps its default. The
    result is clamped to the screen (``fit_to_screen``)."""
    s = window.settings
    geometry, state = _from_b64(s.value("window/geometry")), _from_b64(s.value("window/state"))
    if geometry is not None:
        window.restoreGeometry(geometry)
    if state is not None:
        window.restoreState(state, LAYOUT_VERSION)
    fit_to_screen(window)
    panel = window.task_dock
    task = s.value("edit/task")
    index = panel.task_combo.findData(task) if isinstance(task, str) and task else -1
    if index >= 0:
        panel.task_combo.setCurrentIndex(index)
    user_set = s.value("edit/user_set", [])
    user_set = [v for v in user_set if isinstance(v, str)] if isinstance(user_set, list) else []
    for key, widget in _edit_widgets(panel).items():
        value = s.value(key)
        if value is None or (key == "edit/iterations" and "iterations" not in user_set):
            continue  # the task's own iteration count unless the user had set one
        try:
            if isinstance(widget, QCheckBox):
                widget.setChecked(str(value).lower() in ("true", "1"))
            elif isinstance(widget, QComboBox):
                i = widget.findText(str(value))
                if i >= 0:
                    widget.setCurrentIndex(i)
            elif isinstance(widget, QSpinBox | QDoubleSpinBox):
                number = int(value) if isinstance(widget, QSpinBox) else float(value)
                if widget.minimum() <= number <= widget.maximum():  # out of range (or not finite): the default
                    widget.setValue(number)
        except (TypeError, ValueError, OverflowError):
            continue  # a hand-edited settings file: keep the default
    panel._user_set.update(user_set)
