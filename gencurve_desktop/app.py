"""Desktop entry point: ``gencurve-desktop [IMAGE|PROJECT.ora] [--model M] [--self-test]``."""

from __future__ import annotations

import argparse
import os
import sys


def _application():
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
        app.setApplicationName("GenCurve Desktop")
        app.setOrganizationName("GenCurve")
    return app


def create_main_window(model: str | None = "demo", recovery_prompt: bool = True):
    """Create the main window (a QApplication is created when none exists) and return it."""
    _application()
    from gencurve_desktop.ui.main_window import MainWindow

    return MainWindow(model=model, recovery_prompt=recovery_prompt)


def self_test(model: str = "demo", timeout_s: float = 600) -> int:
    """Open the window offscreen, run one small demo edit on the sample image, return 0 on success."""
    import numpy as np
    from PySide6.QtCore import QEventLoop, QTimer

    from gencurve_desktop.paths import sample_image

    window = create_main_window(model, recovery_prompt=False)
    window.show()
    outcome = {}
    loop = QEventLoop()

    def finish(name):
        outcome.setdefault("end", name)
        loop.quit()

    window.bridge.worker.modelLoaded.connect(lambda *a: loop.quit())
    window.bridge.worker.modelFailed.connect(lambda m: finish("model failed: " + m))
    QTimer.singleShot(int(timeout_s * 1000), lambda: finish("timeout"))
    if window.model_label.text() in ("no model",) or window.bridge.busy:
        loop.exec()
    if "end" in outcome or not window.open_path(sample_image()):
        print(f"self-test failed: {outcome.get('end', window.last_error)}", file=sys.stderr)
        return 1
    h, w = window.doc.height, window.doc.width
    stroke = np.zeros((h, w), bool)
    stroke[h // 3 : h // 2, w // 3 : w // 2] = True
    window.paint_mask(stroke)
    window.task_dock.task_combo.setCurrentIndex(window.task_dock.task_combo.findData("saliency-down"))
    window.task_dock.iterations.setValue(4)
    window.task_dock.steps.setValue(8)
    window.editLanded.connect(lambda _: finish("ok"))
    window.errorShown.connect(lambda m: finish("error: " + m))
    if not window.run_edit():
        print(f"self-test failed: {window.last_error}", file=sys.stderr)
        return 1
    loop.exec()
    ok = outcome.get("end") == "ok" and len(window.doc.layers) == 2
    print("self-test passed" if ok else f"self-test failed: {outcome.get('end')}", file=sys.stderr)
    window.close()
    return 0 if ok else 1


def run() -> None:
    """Console script ``gencurve-desktop``."""
    parser = argparse.ArgumentParser(prog="gencurve-desktop", description="GenCurve Desktop image editor")
    parser.add_argument("path", nargs="?", help="an image or an OpenRaster project to open")
    parser.add_argument("--model", default=None, help="demo | REPO_ID | DIR | FILE.safetensors (default: settings)")
    parser.add_argument("--self-test", action="store_true", help="open the window offscreen, run one demo edit")
    args = parser.parse_args()
    if args.self_test:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        sys.exit(self_test(args.model or "demo"))
    window = create_main_window(args.model)
    window.show()
    if args.path:
        window.open_path(args.path)
    sys.exit(_application().exec())
