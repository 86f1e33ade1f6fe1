"""Desktop entry point: ``gencurve-desktop [IMAGE|PROJECT.ora] [--model M] [--self-test]``."""

from __future__ import annotations

import argparse
import os
import sys

from gencurve_desktop import __version__
from gencurve_desktop.settings import DEFAULT_SOURCE

_GC = None  # the one UI-thread garbage collector (see _collect_garbage_on_the_ui_thread)


def _application():
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from gencurve_desktop.paths import icon_path
    from gencurve_desktop.ui.binding_guard import guard_none_references

    guard_none_references()  # before any painting: see binding_guard.py
    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
        app.setApplicationName("GenCurve Desktop")
        app.setOrganizationName("GenCurve")
        app.setDesktopFileName("gencurve-desktop")  # matches the menu entry packaging/linux/install.sh writes
    app.setWindowIcon(QIcon(str(icon_path())))
    _collect_garbage_on_the_ui_thread(app)
    return app


def _collect_garbage_on_the_ui_thread(app) -> None:
    """Python's cyclic garbage collector runs in whichever thread happens to allocate; when that is the engine's
    worker thread and the garbage holds Qt widgets (a closed window, a dialog), Qt deadlocks or crashes destroying
    them there (seen in the test suite: the worker stuck in QObject::~QObject under gc while the UI thread waited).
    pyqtgraph's GarbageCollector turns automatic collection off and collects on a UI-thread timer instead."""
    global _GC
    if _GC is None:
        from pyqtgraph.util.garbage_collector import GarbageCollector

        _GC = GarbageCollector(interval=0.5)


def create_main_window(model: str | None = "demo", recovery_prompt: bool = True):
    """Create the main window (a QApplication is created when none exists) and return it."""
    _application()
    from gencurve_desktop.ui.main_window import MainWindow

    return MainWindow(model=model, recovery_prompt=recovery_prompt)


def self_test(model: str = DEFAULT_SOURCE, timeout_s: float = 600) -> int:
    """Open the window offscreen, run one small edit with ``mini`` on the sample image, return 0 on success.

    Milestones go to stderr as ``self-test: ...`` lines (the packaging smoke test times them).
    """
    window = create_main_window(model, recovery_prompt=False)
    try:
        window.show()
        _say("self-test: window shown")
        failure = _self_test_edit(window, timeout_s)
    finally:
        window.discard_and_close()  # stops the engine thread on every path; the test edit is not kept
    _say("self-test passed" if failure is None else f"self-test failed: {failure}")
    return 0 if failure is None else 1


def _say(line: str) -> None:
    if sys.stderr is not None:  # a windowed Windows/macOS executable has no stderr
        print(line, file=sys.stderr, flush=True)


def _self_test_edit(window, timeout_s: float) -> str | None:
    """Wait for the model, open the sample, run a 2-iteration edit; the failure, or None."""
    import numpy as np
    from PySide6.QtCore import QEventLoop, QTimer

    from gencurve_desktop.paths import sample_image

    outcome = {}
    loop = QEventLoop()

    def finish(name):
        outcome.setdefault("end", name)
        loop.quit()

    timer = QTimer(window)
    timer.setSingleShot(True)
    timer.timeout.connect(lambda: finish("timeout"))
    timer.start(int(timeout_s * 1000))

    # 1. the model loads on the worker thread (polled: its signals may have fired before we got here)
    def model_state() -> None:
        if window.last_error is not None:
            finish("model failed: " + window.last_error)
        elif window.model_setup.loaded_id is not None and not window.bridge.busy:  # the window has taken it
            finish("model ready")

    poll = QTimer(window)
    poll.timeout.connect(model_state)
    poll.start(50)
    loop.exec()
    poll.stop()
    state = outcome.pop("end")
    if state != "model ready":
        return state
    _say(f"self-test: model ready ({window.model_label.text()})")

    # 2. the bundled sample image, a mask stroke, a short saliency-down edit
    if not window.open_path(sample_image()):
        return f"cannot open the sample image: {window.last_error}"
    h, w = window.doc.height, window.doc.width
    stroke = np.zeros((h, w), bool)
    stroke[h // 3 : h // 2, w // 3 : w // 2] = True
    window.paint_mask(stroke)
    window.task_dock.task_combo.setCurrentIndex(window.task_dock.task_combo.findData("saliency-down"))
    window.task_dock.iterations.setValue(2)  # a smoke test: the edit runs, lands and can be undone
    window.task_dock.steps.setValue(6)
    window.editLanded.connect(lambda _: finish("ok"))
    window.errorShown.connect(lambda m: finish("error: " + m))
    if not window.run_edit():
        return f"the edit did not start: {window.last_error}"
    loop.exec()
    timer.stop()
    if outcome.get("end") != "ok":
        return outcome.get("end")
    if len(window.doc.layers) != 2:
        return f"expected 2 layers after the edit, found {len(window.doc.layers)}"
    _say("self-test: edit landed")
    return None


def run() -> None:
    """Console script ``gencurve-desktop``."""
    parser = argparse.ArgumentParser(prog="gencurve-desktop", description="GenCurve Desktop image editor")
    parser.add_argument("path", nargs="?", help="an image or an OpenRaster project to open")
    parser.add_argument(
        "--model", default=None, help="mini | demo | REPO_ID | DIR | FILE.safetensors (default: settings, else mini)"
    )
    parser.add_argument("--self-test", action="store_true", help="open the window offscreen, run one small edit")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    args = parser.parse_args()
    if args.self_test:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        sys.exit(self_test(args.model or DEFAULT_SOURCE))
    window = create_main_window(args.model)
    window.show()
    if args.path:
        window.open_path(args.path)
    sys.exit(_application().exec())
