"""Cancellation and progress reporting shared by long engine operations."""

from __future__ import annotations

import threading
from collections.abc import Callable

from gencurve_desktop.errors import CancelledError


class CancelToken:
    """A thread-safe flag that a long operation checks at least once per step."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        """Ask the operation to stop at its next check."""
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        """Raise :class:`CancelledError` if cancellation was asked for."""
        if self._event.is_set():
            raise CancelledError("cancelled")


ProgressFn = Callable[[str, int, int], None]


def no_progress(stage: str, done: int, total: int) -> None:
    """The default progress callback: ignore."""


def checkpoint(cancel: CancelToken | None) -> None:
    """Raise if ``cancel`` is set (``None`` never cancels)."""
    if cancel is not None:
        cancel.check()
