"""A guard against a Qt binding that drops a reference to ``None`` on every call.

PySide6 6.12.0 on Python 3.11 returns ``None`` from Qt's void methods (``QPainter.setPen``, ``QWidget.update``,
``QLabel.setText``…) without taking a reference to it, so every such call lowers ``None``'s reference count by
one. Measured in this app: about 300 a second during an edit (mostly the curve plot's repaints), from about
190 000 at start, so after roughly ten minutes of work Python aborts with "Fatal Python error: none_dealloc" and
the unsaved work is gone. Python 3.12 made ``None`` immortal, where the bug is harmless; 6.11.x does not have it.

pyproject.toml keeps that release out of new installs; this guard is for an environment that has it anyway (an
existing one, a distribution's package): it measures the loss at start-up and, when there is one, gives ``None``
the kind of reference count Python 3.12 gives it (a cushion no program can use up), and says so on stderr.
"""

from __future__ import annotations

import ctypes
import sys

#: Added once to None's count when the binding drops references: 2**48 drops would take years at any rate.
CUSHION = 1 << 48

_applied = False


def references_dropped_per_call(calls: int = 256) -> float:
    """How many references to None one void Qt call loses (0 for a sound binding, 1 for the broken one)."""
    from PySide6.QtCore import QObject

    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(calls):
        probe.setObjectName("probe")
    return (before - sys.getrefcount(None)) / calls


def guard_none_references() -> bool:
    """Protect the process from a binding that drops references to None; True when it had to (once is enough)."""
    global _applied
    if _applied or sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return _applied
    if references_dropped_per_call() < 0.5:
        return False
    ctypes.c_ssize_t.from_address(id(None)).value += CUSHION  # ob_refcnt is CPython's first field
    _applied = True
    if sys.stderr is not None:
        from PySide6 import __version__ as pyside

        print(
            f"gencurve-desktop: PySide6 {pyside} drops a reference to None on every Qt call on Python "
            f"{sys.version_info.major}.{sys.version_info.minor} (it would abort the program after a few minutes); "
            "compensated. PySide6-Essentials 6.11.3, or Python 3.12, does not need this.",
            file=sys.stderr,
            flush=True,
        )
    return True
