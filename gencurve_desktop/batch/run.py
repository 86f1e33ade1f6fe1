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
from gencurve_desktop.batch.results import ResultsLog
from gencurve_desktop.errors import GenCurveError


def _runners() -> dict:
    from gencurve_desktop import cli
    from gencurve_desktop.batch import study

    return {
        "curve": (None, cli.cmd_curve),
        "saliency": (None, cli.cmd_saliency),
        "edit": (None, cli.cmd_edit),
        "study-saliency": (study.add_item_arguments, study.study_item),
    }


def worker_name(kind: str) -> str:
    """Where an item ran, for its results line: ``kind:host:pid``."""
    return f"{kind}:{socket.gethostname()}:{os.getpid()}"


def run_item(item: BatchItem, models: dict, progress=None) -> dict:
    """Run one item here with the models in ``models`` (filled on first use); its results line, error included.

    Ctrl+C and SIGTERM are not caught: an interrupted item has no line, and its outputs are written atomically.
    """
    from gencurve_desktop.cli import OOM_HINT, _is_cpu_oom
    from gencurve_desktop.cli_options import command_parser
    from gencurve_desktop.engine.cancel import no_progress

    add_arguments, runner = _runners()[item.command]
    record = item.record()
    start = time.perf_counter()
    try:
        args = command_parser(item.command, add_arguments).parse_args(list(item.argv))
        args.models, args.quiet = models, True
        record["result"] = runner(args, progress or no_progress)
    except GenCurveError as e:
        record["error"] = {"message": str(e), "exit_code": e.exit_code}
    except (MemoryError, Exception) as e:  # one item's failure is its line, never the batch's end
        if isinstance(e, MemoryError) or _is_cpu_oom(e):
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


def run_embedded(items: list[BatchItem], log: ResultsLog, models: dict, bar, stop: StopRequest) -> Tally:
    """Run ``items`` one after the other in this process, appending each line to ``log`` as it finishes."""
    tally = Tally()
    name = worker_name("embedded")
    for item in items:
        if stop.requested:
            break
        bar.set_postfix_str(item.id, refresh=True)
        record = {**run_item(item, models), "worker": name, "attempts": 1}
        log.append(record)
        tally.count(record)
        bar.update(1)
    return tally
