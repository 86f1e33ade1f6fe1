"""Ctrl+C and SIGTERM while a ``gencurve`` command runs.

Both unwind through the code (``KeyboardInterrupt`` and :class:`Terminated`), so ``with`` blocks remove their
temporary files on the way out. A signal is also *remembered*: libraries do not always let the exception
through. A compiled extension's initialisation turns it into ``ImportError`` (pybind11 modules do; diffusers'
lazy import then wraps that in ``RuntimeError``), and a bare ``except:`` (mpmath's back-end probe) swallows it.
So the command asks :func:`received` before reporting an error, and :func:`raise_if_swallowed` raises the
signal again at the next progress report: a signal always ends in "cancelled"/"terminated", with nothing
written.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator


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
def unwinding_signals() -> Iterator[None]:
    """Within the block (main thread only), SIGINT raises ``KeyboardInterrupt`` and SIGTERM :class:`Terminated`,
    and both are remembered; the previous handlers come back afterwards."""
    global _received
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _received = None
    previous = signal.signal(signal.SIGINT, _interrupt), signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous[0])
        signal.signal(signal.SIGTERM, previous[1])


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
