"""``OUTDIR/results.jsonl``: one line per finished item, appended as items finish, read back to resume.

Each line is written whole with one ``write`` and flushed to disk before the next item starts, so a batch killed at
any moment leaves at most one torn last line, which reading skips (and counts). Later lines for the same id win.
One batch at a time writes to a folder: ``OUTDIR/.results.lock`` is held for the run.
"""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

from gencurve_desktop.batch.items import BatchItem
from gencurve_desktop.document.file_lock import try_lock, unlock
from gencurve_desktop.document.safe_files import kind_of, read_regular
from gencurve_desktop.errors import BadInputError

RESULTS_NAME = "results.jsonl"
MAX_RESULTS_BYTES = 1 << 30


def _open_regular(path: Path, flags: int):
    """``path`` opened (binary, unbuffered writes go straight to the file) only if it is a regular file of its own:
    a symlink is refused rather than followed (appending through it would write into its target), a FIFO or
    device rather than waited on."""
    try:
        fd = os.open(path, flags | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0), 0o666)
    except OSError as e:
        if os.path.islink(path):
            raise BadInputError(f"{path}: is a symbolic link; refusing to write through it") from None
        raise BadInputError(f"{path}: cannot open ({e.strerror or e})") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        kind = kind_of(os.fstat(fd))
        os.close(fd)
        raise BadInputError(f"{path}: is {kind}, not a regular file")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "r+b" if flags & os.O_RDWR else "ab")


class ResultsLog:
    """The results file of one output folder, locked while open."""

    def __init__(self, outdir: Path) -> None:
        self.path = outdir / RESULTS_NAME
        try:
            outdir.mkdir(parents=True, exist_ok=True)
            self._lock = _open_regular(outdir / ".results.lock", os.O_RDWR | os.O_CREAT)
        except OSError as e:
            raise BadInputError(f"{outdir}: cannot write the batch's results there ({e.strerror or e})") from None
        if not try_lock(self._lock):
            self._lock.close()
            raise BadInputError(f"{outdir}: another batch is writing its results there; wait for it or use another -o")
        try:
            self.previous, self.torn_lines = self._read()
            self._file = _open_regular(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        except BaseException:
            self._lock.close()
            raise
        if self._last_byte not in (b"", b"\n"):
            self._file.write(b"\n")  # a torn last line stays a line of its own

    def _read(self) -> tuple[dict[str, dict], int]:
        records, torn, self._last_byte = {}, 0, b""
        if not os.path.lexists(self.path):
            return records, torn
        data = read_regular(self.path, MAX_RESULTS_BYTES, follow_links=False, what="results file")
        self._last_byte = data[-1:]
        for line in data.splitlines():
            try:
                record = json.loads(line)
                records[str(record["id"])] = record
            except (ValueError, KeyError, TypeError):
                torn += 1
        return records, torn

    def is_done(self, item: BatchItem) -> bool:
        """True when the item finished without error under the same command line and its outputs are all there."""
        record = self.previous.get(item.id)
        return (
            record is not None
            and record.get("error") is None
            and record.get("argv") == list(item.argv)
            and all(Path(p).is_file() for p in item.outputs)
        )

    def append(self, record: dict) -> None:
        """Add one finished item's line and push it to the disk."""
        record = {**record, "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        line = json.dumps(record, allow_nan=False, ensure_ascii=False).encode() + b"\n"
        try:
            self._file.write(line)
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError as e:
            raise BadInputError(f"{self.path}: cannot write ({e.strerror or e})") from None
        self.previous[str(record["id"])] = record

    def close(self) -> None:
        """Close the file and release the folder."""
        self._file.close()
        unlock(self._lock)
        self._lock.close()
