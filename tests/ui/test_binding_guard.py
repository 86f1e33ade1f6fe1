"""The desktop survives a Qt binding that drops a reference to None on every call (PySide6 6.12.0, Python 3.11)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from gencurve_desktop.ui.binding_guard import references_dropped_per_call

# Paint as the curve plot does, more times over than None has references at start: with the broken binding and no
# guard this aborts ("Fatal Python error: none_dealloc", SIGABRT) long before the end.
CHILD = textwrap.dedent(
    """
    import os, sys
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    calls = 3 * sys.getrefcount(None) + 10000  # before the guard, which may raise the count
    from gencurve_desktop.app import _application
    app = _application()
    from PySide6.QtGui import QColor, QImage, QPainter, QPen
    image = QImage(64, 64, QImage.Format_ARGB32)
    painter = QPainter(image)
    pen = QPen(QColor("#4da3ff"))
    for _ in range(calls):
        painter.setPen(pen)
    painter.end()
    print("painted", calls)
    """
)


def test_a_long_session_of_painting_does_not_abort_the_program():
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("painted")


def test_the_measure_tells_a_sound_call_from_one_that_drops_a_reference(qapp):
    # the guard decides on this figure: whatever the installed binding does, it must be one of the two
    assert round(references_dropped_per_call(), 1) in (0.0, 1.0)
