"""Screenshots of the main window around a demo edit, in a real X server (run under Xvfb), at 1280x720.

    xvfb-run -a -s "-screen 0 1280x720x24" python3 scripts/screenshots.py OUT_DIR [WIDTHxHEIGHT]

(a smaller WIDTHxHEIGHT, e.g. 1024x640 on a screen of that size, shows the window as a small laptop would)

Writes into OUT_DIR:
- before.png: the sample photo, the mask painted, the reference placed;
- progress.png: during the edit (phase, iteration, ETA, live curves);
- after.png: the edit landed as a layer, before/after curves, a probe curve with its marker on the canvas;
- result-card.png: the Edit dock's result card (before -> after, verdict);
- saliency.png: the saliency map overlay with its legend and opacity in the status bar.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEventLoop, QObject, QTimer, Slot


def wait_for(signal, timeout_s=600) -> None:
    loop = QEventLoop()
    signal.connect(loop.quit)
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    loop.exec()


def settle(ms=300) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


class ProgressShot(QObject):
    """Grabs the window once, after the 8th iteration of the running edit."""

    def __init__(self, window, path: Path) -> None:
        super().__init__()
        self.window, self.path, self.taken = window, path, False

    @Slot(object)
    def on_event(self, event) -> None:
        if event.state == "progress" and getattr(event.value, "iteration", 0) >= 8 and not self.taken:
            self.taken = True
            self.window.jobs._flush_plot()
            self.window.grab().save(str(self.path))


def main(out_dir: str, size: str = "1280x720") -> int:
    from gencurve_desktop.app import create_main_window
    from gencurve_desktop.paths import sample_image

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    w = create_main_window("demo", recovery_prompt=False)
    w.resize(*(int(v) for v in size.lower().split("x")))
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
    w.task_dock.iterations.setValue(30)
    w.task_dock.steps.setValue(20)
    w.canvas.zoom_fit()
    settle()
    w.grab().save(str(out / "before.png"))

    # 1. during the edit: a frame once a few iterations have run (a QObject receiver: its slot runs on the UI
    #    thread, where widgets may be grabbed)
    during = ProgressShot(w, out / "progress.png")
    w.bridge.worker.jobEvent.connect(during.on_event)
    w.run_edit()
    wait_for(w.editLanded)
    w.bridge.worker.jobEvent.disconnect(during.on_event)
    while w.bridge.busy:  # the edit lands before the worker reports itself free; a probe now would be refused
        settle(50)

    # 2. the landed edit, a probe curve, and the result card
    w.set_tool("probe")
    w.canvas.probeClicked.emit(250, 130)
    wait_for(w.bridge.worker.curveFinished)
    settle(600)
    w.grab().save(str(out / "after.png"))
    w.task_dock.grab().save(str(out / "result-card.png"))

    # 3. the saliency map with its legend
    w.actionSaliencyMap.trigger()
    wait_for(w.bridge.worker.saliencyFinished)
    settle(600)
    w.grab().save(str(out / "saliency.png"))
    w.discard_and_close()
    names = ", ".join(p.name for p in sorted(out.glob("*.png")))
    print(f"wrote {names} in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*(sys.argv[1:3] or ["screenshots"])))
