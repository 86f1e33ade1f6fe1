"""Started by test_screen_sizes.py under a configured offscreen screen: opens the desktop as a user would (first
start, a sample image) and prints the geometry of the window, its docks and the canvas as one JSON line."""

import json
import sys

from PySide6.QtWidgets import QApplication, QDockWidget

from gencurve_desktop.app import create_main_window
from gencurve_desktop.paths import sample_image

app = QApplication.instance() or QApplication(sys.argv)
w = create_main_window("demo", recovery_prompt=False)
w.show()
w.open_path(sample_image())
for _ in range(50):  # the fit to the screen runs once the frame is known
    app.processEvents()


def rect(r):
    return [r.x(), r.y(), r.width(), r.height()]


def shown(d) -> bool:  # docked and on screen (a dock tabbed behind another is not)
    return d.isVisible() and not d.isFloating() and not d.visibleRegion().isEmpty()


docks = {d.objectName(): rect(d.geometry()) for d in w.findChildren(QDockWidget) if shown(d)}
print(
    json.dumps(
        {
            "screen": rect(w.screen().availableGeometry()),
            "frame": rect(w.frameGeometry()),
            "window": [w.width(), w.height()],
            "docks": docks,
            "canvas": rect(w.canvas.geometry()),
        }
    )
)
w.discard_and_close()
