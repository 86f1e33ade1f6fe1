"""Desktop entry point. Until the editor lands (desktop issue) this is a placeholder window."""

from __future__ import annotations

import argparse
import os
import sys


def create_main_window(model: str = "demo"):
    """Create (and return) the main window; a QApplication is created when none exists."""
    from PySide6.QtWidgets import QApplication, QLabel, QMainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = QMainWindow()
    window.setObjectName("mainWindow")
    window.setWindowTitle("GenCurve Desktop")
    label = QLabel(
        "GenCurve Desktop\n\nThe editor is not built yet. Use the command line:\n"
        "  gencurve curve IMAGE --at X,Y --model demo\n  gencurve saliency IMAGE -o map.png --model demo"
    )
    label.setMargin(24)
    window.setCentralWidget(label)
    window._app = app  # keep the application alive with the window
    window._model = model
    return window


def run() -> None:
    """Console script ``gencurve-desktop``."""
    parser = argparse.ArgumentParser(prog="gencurve-desktop")
    parser.add_argument("path", nargs="?")
    parser.add_argument("--model", default="demo")
    parser.add_argument("--self-test", action="store_true", help="open the window offscreen and exit 0")
    args = parser.parse_args()
    if args.self_test:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    window = create_main_window(args.model)
    window.show()
    if args.self_test:
        window._app.processEvents()
        window.close()
        sys.exit(0)
    sys.exit(window._app.exec())
