"""The desktop window the UI tests drive: the demo model, shown, its model loaded."""

from gencurve_desktop.app import create_main_window

WAIT = 120_000


def make_window(qtbot):
    """A shown main window on the demo model, once the model has loaded."""
    w = create_main_window("demo", recovery_prompt=False)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.model_label.text() == "demo", timeout=WAIT)
    return w
