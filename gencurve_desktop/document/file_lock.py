"""Advisory file locks that die with the process (fcntl on POSIX, msvcrt on Windows)."""

from __future__ import annotations

import contextlib
import os

if os.name == "nt":  # pragma: no cover - Windows
    import msvcrt

    def try_lock(f) -> bool:
        """Lock the open file ``f`` without waiting; False when another process holds it."""
        try:
            f.seek(0)
            msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False

    def unlock(f) -> None:
        """Release the lock on ``f``."""
        with contextlib.suppress(OSError):
            f.seek(0)
            msvcrt.locking(f.fileno(), msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def try_lock(f) -> bool:
        """Lock the open file ``f`` without waiting; False when another process holds it."""
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError:
            return False

    def unlock(f) -> None:
        """Release the lock on ``f``."""
        with contextlib.suppress(OSError):
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


@contextlib.contextmanager
def lock_folder(folder):
    """Hold an exclusive lock on a folder (waiting for it) for the block; a no-op where folders cannot be locked."""
    if os.name == "nt":  # pragma: no cover - Windows: no folder locks
        yield
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:
            pass
        yield
    finally:
        os.close(fd)  # closing releases the lock
