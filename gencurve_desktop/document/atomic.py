"""Atomic file writing: a temporary file in the target's folder, flushed and fsynced, then renamed over it.

The new file keeps the mode of the file it replaces (or gets the mode the umask gives a new file); a target that
is a symbolic link is *replaced* by the new file (the link goes, whatever it pointed at is never written: a link
planted in a shared folder cannot redirect a write); a target that is a FIFO, device or socket is refused; and
temporary files that an earlier, interrupted write of ours left in that folder are removed.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from gencurve_desktop.document.safe_files import kind_of
from gencurve_desktop.errors import BadInputError

TEMP_MARK = ".gencurve-"  # every temporary file of ours is named ".<target>.gencurve-<random>.tmp"
STALE_TEMP_S = 600  # a temporary file of ours older than this is left over from an interrupted write


def check_target(path: str | os.PathLike) -> Path:
    """The target as a Path; BadInputError if it is a directory, a FIFO, device or socket, if its folder does not
    exist, or if its name is unusable (NUL, too long)."""
    path = Path(path)
    if "\0" in str(path):
        raise BadInputError(f"{str(path)!r}: a file name cannot contain a NUL character")
    if len(path.name.encode(errors="surrogateescape")) > 255 - 40:  # room for our temporary name around it
        raise BadInputError(f"{str(path)[:80]}…: the file name is too long ({len(path.name)} characters)")
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    except OSError as e:
        raise BadInputError(f"{path}: cannot write there ({e.strerror or e})") from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise BadInputError(f"{path}: is a directory")
    if st is not None and not (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)):
        raise BadInputError(f"{path}: is {kind_of(st)}; refusing to replace it")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise BadInputError(f"{path}: the folder {folder} does not exist")
    return path


def write_atomic(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> None:
    """Call ``write(file)`` on a temporary file and rename it over ``path``: a crash leaves old or new, never a mix."""
    path = check_target(path)  # a symlink is replaced itself, never written through
    folder = path.parent if str(path.parent) else Path(".")
    remove_stale_temps(folder)
    mode = _mode_for(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}{TEMP_MARK}", suffix=".tmp", dir=folder)
    except OSError as e:
        raise BadInputError(f"{path}: cannot write ({e.strerror or e})") from None
    try:
        try:
            with os.fdopen(fd, "wb") as f:
                write(f)
                f.flush()
                os.fsync(f.fileno())
        except OSError as e:  # a full disk, a quota, a file-size limit: one line naming the path (exit 2)
            raise BadInputError(f"{path}: cannot write ({e.strerror or e})") from None
        with _commit_section():
            os.chmod(tmp, mode)
            os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass


def remove_stale_temps(folder: Path, older_than_s: float = STALE_TEMP_S) -> int:
    """Delete our temporary files in ``folder`` older than ``older_than_s``; returns how many went."""
    removed = 0
    now = time.time()
    try:
        candidates = list(Path(folder).glob(f".*{TEMP_MARK}*.tmp"))
    except OSError:
        return 0
    for tmp in candidates:
        with contextlib.suppress(OSError):
            if now - tmp.stat().st_mtime > older_than_s:
                tmp.unlink()
                removed += 1
    return removed


@contextlib.contextmanager
def _folders_locked(folders: set[Path]) -> Iterator[None]:
    """Exclusive locks on the target folders while several files are renamed, so that two processes writing the
    same set of outputs commit one after the other (never X from one and Y from the other). Where a folder cannot
    be locked (Windows, some network file systems) the renames run unlocked."""
    from gencurve_desktop.document.file_lock import lock_folder

    with contextlib.ExitStack() as stack:
        for folder in sorted({Path(os.path.abspath(f or ".")) for f in folders}):  # one order: no deadlock
            stack.enter_context(lock_folder(folder))
        yield


def _mode_for(path: Path) -> int:
    """The permission bits of the file being replaced (not of a link's target), or 0o666 less the umask."""
    try:
        st = os.lstat(path)
        if stat.S_ISLNK(st.st_mode):
            raise FileNotFoundError
        return st.st_mode & 0o7777
    except FileNotFoundError:
        return 0o666 & ~current_umask()


def current_umask() -> int:
    """The process umask (read from /proc where possible, so no thread ever sees it changed)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def check_writable(
    path: str | os.PathLike, suffixes: tuple[str, ...], inputs: tuple = (), overwrite: bool = False
) -> Path:
    """Refuse an output before any work: wrong extension, missing or unwritable folder, or an input file.

    ``suffixes`` are the allowed extensions (lower case, with the dot); ``inputs`` are the command's input files,
    which an output may replace only with ``overwrite``. Returns the path.
    """
    path = check_target(path)
    if path.suffix.lower() not in suffixes:
        raise BadInputError(
            f"{path}: cannot write {path.suffix or 'a file without an extension'}; use {', '.join(suffixes)}"
        )
    if not overwrite:
        for other in inputs:
            if other and Path(other).exists() and path.exists() and os.path.samefile(path, other):
                raise BadInputError(f"{path}: is an input of this command; choose another name or add --overwrite")
    folder = Path(os.path.abspath(path)).parent  # a link is replaced in its own folder
    try:
        with tempfile.NamedTemporaryFile(prefix=f".{path.name}{TEMP_MARK}", suffix=".tmp", dir=folder):
            pass
    except OSError as e:
        raise BadInputError(f"{path}: cannot write in {folder} ({e.strerror or e})") from None
    return path


def write_together(writes: list[tuple[Path, Callable[[BinaryIO], None]]]) -> None:
    """Write several files so that they appear together or not at all.

    Every file is written to its temporary file first; only when all are complete are they renamed, with
    SIGINT and SIGTERM held back for the few renames. Any failure or interruption before that removes the
    temporary files and leaves every target as it was. A full disk or an unwritable folder is a
    :class:`BadInputError` naming the path.
    """
    staged: list[tuple[str, Path, int]] = []
    try:
        for path, write in writes:
            path = check_target(path)
            folder = path.parent if str(path.parent) else Path(".")
            remove_stale_temps(folder)
            try:
                fd, tmp = tempfile.mkstemp(prefix=f".{path.name}{TEMP_MARK}", suffix=".tmp", dir=folder)
            except OSError as e:
                raise BadInputError(f"{path}: cannot write ({e.strerror or e})") from None
            staged.append((tmp, path, _mode_for(path)))
            try:
                with os.fdopen(fd, "wb") as f:
                    write(f)
                    f.flush()
                    os.fsync(f.fileno())
            except OSError as e:
                raise BadInputError(f"{path}: cannot write ({e.strerror or e})") from None
        with _folders_locked({p.parent for _, p, _ in staged}), _commit_section():
            for tmp, path, mode in staged:
                os.chmod(tmp, mode)
                os.replace(tmp, path)
    except BaseException:
        for tmp, _, _ in staged:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        raise


_after_commit: list[Callable[[], None]] = []


@contextlib.contextmanager
def after_commit(hook: Callable[[], None]) -> Iterator[None]:
    """Within the block, ``hook()`` runs right after every commit (the rename of :func:`write_atomic`, the renames
    of :func:`write_together`), before a SIGINT or SIGTERM held back meanwhile is delivered. The command line
    uses it so that a signal arriving once the outputs are in place ends nothing: the command reports what it
    wrote."""
    _after_commit.append(hook)
    try:
        yield
    finally:
        _after_commit.remove(hook)


@contextlib.contextmanager
def _commit_section() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back while the renames run, then run the commit hooks (only if the block finished),
    then deliver what was held to the handlers installed by then.

    Held at Python's level: the handlers only record the signal meanwhile. A kernel mask would not do, because
    it is per thread and the kernel hands a process-wide signal (Ctrl+C) to any thread not blocking it, e.g.
    one of torch's; Python then runs the handler on the main thread anyway."""
    import signal
    import threading

    on_main = threading.current_thread() is threading.main_thread()
    held: list[int] = []
    previous = {}
    if on_main:
        for signum in (signal.SIGINT, signal.SIGTERM):
            if signal.getsignal(signum) is not None:  # None: set outside Python, cannot be put back
                previous[signum] = signal.signal(signum, lambda n, _frame: held.append(n))
    finished = False
    try:
        yield
        finished = True
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if finished:
            for hook in list(_after_commit):
                hook()
        for signum in held:
            signal.raise_signal(signum)
