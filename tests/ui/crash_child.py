"""Run by the crash test in a child process: open a project, change it, wait for the autosave, say READY.

argv: PROJECT.ora  stroke|edit  RECOVERY_DIR  -- the parent kills this process with SIGKILL after READY.
"""

import sys
import time

import numpy as np
from PySide6.QtWidgets import QApplication

from gencurve_desktop.app import create_main_window
from gencurve_desktop.document import recovery

project, action = sys.argv[1], sys.argv[2]
app = QApplication.instance() or QApplication([])
w = create_main_window("demo", recovery_prompt=False)
w.show()
deadline = time.monotonic() + 300


def spin(condition) -> None:
    while not condition():
        app.processEvents()
        time.sleep(0.02)
        if time.monotonic() > deadline:
            sys.exit("timed out")


spin(lambda: w.bridge.worker.model is not None and not w.bridge.busy)
assert w.open_path(project)
stroke = np.zeros((w.doc.height, w.doc.width), bool)
stroke[10:30, 12:40] = True
w.paint_mask(stroke)
if action == "edit":
    w.task_dock.task_combo.setCurrentIndex(w.task_dock.task_combo.findData("saliency-down"))
    w.task_dock.iterations.setValue(3)
    w.task_dock.steps.setValue(4)
    landed = []
    w.editLanded.connect(landed.append)
    assert w.run_edit()
    spin(lambda: landed)
key = w.session.key
expected_layers = len(w.doc.layers)


def snapshot_written() -> bool:
    entries = [e for e in recovery.list_recovery(include_live=True) if e.document_key == key]
    if not entries:
        return False
    try:
        return len(recovery.restore(entries[0]).layers) == expected_layers and recovery.restore(entries[0]).mask.any()
    except Exception:
        return False


spin(snapshot_written)
print("READY", key, flush=True)
while True:
    app.processEvents()
    time.sleep(0.05)
