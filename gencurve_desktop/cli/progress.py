"""Progress on the command line: tqdm bars on stderr (stdout carries only the JSON result)."""

from __future__ import annotations

import sys
from collections.abc import Callable


class StderrProgress:
    """One tqdm bar on stderr at a time: a new stage closes the bars before it, so stacked bars never leave
    cursor-movement codes in front of the one-line error."""

    def __init__(self, before_report: Callable[[], None] | None = None) -> None:
        self._bars: dict[str, object] = {}
        self._before_report = before_report

    def __call__(self, stage: str, done: int, total: int) -> None:
        from tqdm import tqdm

        if self._before_report is not None:
            self._before_report()  # e.g. raise again a Ctrl+C that a library swallowed

        bar = self._bars.get(stage)
        if bar is None:
            self.close()
            bar = self._bars[stage] = tqdm(total=total, desc=stage, file=sys.stderr, leave=False, dynamic_ncols=True)
        bar.n = done
        bar.refresh()
        if done >= total:
            bar.close()

    def close(self) -> None:
        for bar in self._bars.values():
            bar.close()
        self._bars.clear()
