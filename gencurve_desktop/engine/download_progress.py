"""Download progress: huggingface_hub's tqdm bars turned into ``("download", bytes_done, bytes_total)`` reports.

Used by :mod:`~gencurve_desktop.engine.hub` (downloads) on behalf of the model loaders; it imports neither, so
the hub and the model loader depend on it and not on each other.
"""

from __future__ import annotations

from gencurve_desktop.engine.cancel import ProgressFn


def byte_progress_class(progress: ProgressFn, interval_s: float = 0.1) -> type:
    """A silent tqdm class that forwards the byte counts of huggingface_hub's download bars to ``progress``.

    Bars counted in files (unit "it") and the network-transfer bar ("Downloading bytes", whose total is a
    guess) are ignored; the bytes-written bar is reported at most every ``interval_s`` seconds and at its end.
    """
    import io
    import time

    from tqdm.auto import tqdm

    class ByteProgress(tqdm):
        def __init__(self, *args, **kwargs):
            kwargs.pop("name", None)
            kwargs.update(disable=False, file=io.StringIO(), leave=False)
            super().__init__(*args, **kwargs)
            self.reports = self.unit == "B" and not str(self.desc).startswith("Downloading bytes")
            self.last_report = 0.0

        def update(self, n=1):
            shown = super().update(n)
            now = time.monotonic()
            if self.reports and (now - self.last_report >= interval_s or self.n >= (self.total or 0)):
                self.last_report = now
                progress("download", int(self.n), int(max(self.total or 0, self.n)))
            return shown

    return ByteProgress
