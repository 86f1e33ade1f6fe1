"""Ctrl+C and SIGTERM while a ``gencurve`` command runs.

Both unwind through the code (``KeyboardInterrupt`` and :class:`Terminated`), so ``with`` blocks remove their
temporary files on the way out. A signal is also *remembered*: libraries do not always let the exception
through. A compiled extension's initialisation turns it into ``ImportError`` (pybind11 modules do; diffusers'
lazy import then wraps that in ``RuntimeError``), and a bare ``except:`` (mpmath's back-end probe) swallows it.
So the command asks :func:`received` before reporting an error, and :func:`raise_if_swallowed` raises the
signal again at the next progress report: a signal always ends in "cancelled"/"terminated", with nothing
written. Once the outputs are in place (:func:`outputs_committed`, run while the renames hold signals back)
signals are ignored: the command ends as it succeeded, never "cancelled" with its outputs written.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator

from gencurve_desktop.document.atomic import after_commit


class Terminated(BaseException):
    """SIGTERM, raised where the program is so that temporary files are removed on the way out."""


_received: int | None = None


def _interrupt(signum: int, frame) -> None:
    _remember(signum)
    raise KeyboardInterrupt


def _terminate(signum: int, frame) -> None:
    _remember(signum)
    raise Terminated


def _remember(signum: int) -> None:
    global _received
    if _received is None:
        _received = signum


@contextlib.contextmanager
def unwinding_signals(final: bool = False) -> Iterator[None]:
    """Within the block (main thread only), SIGINT raises ``KeyboardInterrupt`` and SIGTERM :class:`Terminated`,
    and both are remembered. Afterwards the previous handlers come back, or with ``final`` (the process exits
    next, with the code decided inside) both signals are ignored."""
    global _received
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _received = None
    previous = signal.signal(signal.SIGINT, _interrupt), signal.signal(signal.SIGTERM, _terminate)
    previous_hook = sys.unraisablehook
    sys.unraisablehook = _quiet_signal_in_finaliser(previous_hook)
    try:
        with after_commit(outputs_committed):
            yield
    finally:
        sys.unraisablehook = previous_hook
        signal.signal(signal.SIGINT, signal.SIG_IGN if final else previous[0])
        signal.signal(signal.SIGTERM, signal.SIG_IGN if final else previous[1])


def _quiet_signal_in_finaliser(previous):
    """A signal that lands in a ``__del__`` cannot unwind (Python prints "Exception ignored in" and a traceback);
    it is remembered, and :func:`raise_if_swallowed` raises it again at the next progress report, so nothing
    is printed for it."""

    def hook(unraisable) -> None:
        if isinstance(unraisable.exc_value, (KeyboardInterrupt, Terminated)) and _received is not None:
            return
        previous(unraisable)

    return hook


def outputs_committed() -> None:
    """The command's outputs are in place: from now on SIGINT and SIGTERM are ignored (one held back by the
    renames is discarded). Only while this module's handlers are the ones installed: a batch keeps its own."""
    if signal.getsignal(signal.SIGINT) is _interrupt and signal.getsignal(signal.SIGTERM) is _terminate:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)


def received() -> int | None:
    """The signal number caught since the block began (the first one), or None."""
    return _received


def raise_if_swallowed() -> None:
    """Raise again a signal that arrived but whose exception a library caught."""
    if _received == signal.SIGINT:
        raise KeyboardInterrupt
    if _received == signal.SIGTERM:
        raise Terminated


def stop_code(e: BaseException | None) -> tuple[int, str]:
    """Exit code and message for a run ended by a signal: from the exception when it is one of ours, else from
    the signal remembered."""
    if isinstance(e, Terminated) or (not isinstance(e, KeyboardInterrupt) and _received == signal.SIGTERM):
        return 128 + signal.SIGTERM, "terminated"
    return 130, "cancelled"
