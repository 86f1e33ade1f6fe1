"""Screenshots of the main window before and after a demo edit, in a real X server (run under Xvfb).

    xvfb-run -a -s "-screen 0 1600x1000x24" python3 scripts/screenshots.py OUT_DIR

Writes OUT_DIR/before.png (sample photo, mask painted, reference placed) and OUT_DIR/after.png (the edit
landed as a layer, live curves with before/after overlays, a probe curve).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEventLoop, QTimer


def wait_for(signal, timeout_s=600) -> None:
    loop = QEventLoop()
    signal.connect(loop.quit)
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    loop.exec()


def settle(ms=300) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def main(out_dir: str) -> int:
    from gencurve_desktop.app import create_main_window
    from gencurve_desktop.paths import sample_image

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    w = create_main_window("demo", recovery_prompt=False)
    w.resize(1600, 1000)
    w.show()
    if w.bridge.busy:
        wait_for(w.bridge.worker.modelLoaded)
    w.open_path(sample_image())
    h, wd = w.doc.height, w.doc.width
    yy, xx = np.mgrid[:h, :wd]
    w.paint_mask((xx - 330) ** 2 / 60**2 + (yy - 190) ** 2 / 80**2 <= 1)  # the rocket in the background
    w.doc.references[:] = []
    w.canvas.referenceClicked.emit(470, 120)
    w.task_dock.task_combo.setCurrentIndex(w.task_dock.task_combo.findData("remove"))
    w.task_dock.iterations.setValue(20)
    w.task_dock.steps.setValue(20)
    w.canvas.zoom_fit()
    settle()
    w.grab().save(str(out / "before.png"))
    w.run_edit()
    wait_for(w.editLanded)
    w.set_tool("probe")
    w.canvas.probeClicked.emit(250, 130)
    wait_for(w.bridge.worker.curveFinished)
    settle(600)
    w.grab().save(str(out / "after.png"))
    w.discard_and_close()
    print(f"wrote {out / 'before.png'} and {out / 'after.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "screenshots"))
