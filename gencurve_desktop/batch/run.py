"""Running items: one item in this process (:func:`run_item`), and a whole batch in sequence (:func:`run_embedded`).

:func:`run_item` is also what each Ray actor calls, so an item gives the same result wherever it runs.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from gencurve_desktop.batch.items import BatchItem
from gencurve_desktop.batch.requests import run_command
from gencurve_desktop.batch.results import ResultsLog
from gencurve_desktop.commands.checks import OOM_HINT, is_out_of_memory
from gencurve_desktop.commands.loading import ModelSource
from gencurve_desktop.engine.cancel import ProgressFn, no_progress
from gencurve_desktop.errors import GenCurveError


def worker_name(kind: str) -> str:
    """Where an item ran, for its results line: ``kind:host:pid``."""
    return f"{kind}:{socket.gethostname()}:{os.getpid()}"


def run_item(item: BatchItem, model: ModelSource, progress: ProgressFn | None = None) -> dict:
    """Run one item here on ``model`` (loaded on first use); its results line, error included.

    Ctrl+C and SIGTERM are not caught: an interrupted item has no line, and its outputs are written atomically.
    """
    record = item.record()
    start = time.perf_counter()
    try:
        record["result"] = run_command(item, model, progress or no_progress)
    except GenCurveError as e:
        record["error"] = {"message": str(e), "exit_code": e.exit_code}
    except (MemoryError, Exception) as e:  # one item's failure is its line, never the batch's end
        if is_out_of_memory(e):
            record["error"] = {"message": OOM_HINT, "exit_code": 4}
        else:
            text = f"internal error: {type(e).__name__}: {e}".splitlines()[0]
            record["error"] = {"message": text, "exit_code": 1}
    record["seconds"] = round(time.perf_counter() - start, 3)
    return record


def on_main_thread() -> bool:
    """Signal handlers can only be set from the main thread."""
    import threading

    return threading.current_thread() is threading.main_thread()


@dataclass
class StopRequest:
    """The first Ctrl+C asks the batch to stop after the item in flight; the second abandons that item."""

    requested: bool = False
    say: Callable[[str], None] = print

    def handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        self.say("stopping after the item in flight (Ctrl+C again abandons it); run the same command to go on")

    def __enter__(self) -> StopRequest:
        self._previous = None
        if on_main_thread():
            self._previous = signal.signal(signal.SIGINT, self.handle)
        return self

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


@dataclass
class Tally:
    """What a batch did, for its summary."""

    done: int = 0
    failed: int = 0
    skipped: int = 0
    failures: list[str] = field(default_factory=list)

    def count(self, record: dict) -> None:
        if record["error"] is None:
            self.done += 1
        else:
            self.failed += 1
            self.failures.append(f"{record['id']}: {record['error']['message']}")


def run_embedded(items: list[BatchItem], log: ResultsLog, model: ModelSource, bar, stop: StopRequest) -> Tally:
    """Run ``items`` one after the other in this process, appending each line to ``log`` as it finishes."""
    tally = Tally()
    name = worker_name("embedded")
    for item in items:
        if stop.requested:
            break
        bar.set_postfix_str(item.id, refresh=True)
        record = {**run_item(item, model), "worker": name, "attempts": 1}
        log.append(record)
        tally.count(record)
        bar.update(1)
    return tally
