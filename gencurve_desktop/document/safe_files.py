"""Treating files on disk as hostile: safe names for derived paths, regular files only, bounded reads, and the
per-document memory budget.

Every path GenCurve derives from a file's *contents* (a recovery key, a layer, group or edit id that becomes a zip
entry name) must be a :func:`safe_name`; every file it reads must be a regular file (FIFOs, devices and sockets,
directly or through a symlink, are refused before anything is read, so nothing hangs or reads forever).
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from gencurve_desktop.errors import BadInputError

_SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
#: Default memory budget of one open document (layers × canvas × 4 bytes, 8 more for a 16-bit layer, + edit
#: masks), in MiB; ``GENCURVE_MAX_DOCUMENT_MB`` raises or lowers it.
DEFAULT_DOCUMENT_MB = 4096


def safe_name(value: object) -> bool:
    """Whether ``value`` may become part of a file or entry name: 1–64 of ``A–Z a–z 0–9 _ -``, not starting with -/_."""
    return isinstance(value, str) and _SAFE.fullmatch(value) is not None


def inside(folder: Path, name: str) -> Path:
    """``folder / name`` for a :func:`safe_name` (plus a fixed suffix); ValueError for anything that could escape."""
    stem = name.split(".", 1)[0]
    if not safe_name(stem) or "/" in name or "\\" in name or ".." in name:
        raise ValueError(f"unsafe name {name!r}")
    path = folder / name
    if Path(os.path.abspath(path)).parent != Path(os.path.abspath(folder)):
        raise ValueError(f"unsafe name {name!r}")
    return path


def kind_of(st: os.stat_result) -> str:
    """A short word for a non-regular file's type."""
    mode = st.st_mode
    for test, word in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISLNK, "a symbolic link")):  # fmt: skip
        if test(mode):
            return word
    return "not a regular file"


def check_regular(
    path: str | os.PathLike, what: str = "file", error: type[Exception] = BadInputError
) -> os.stat_result:
    """The stat of ``path`` (following symlinks) if it is a regular file; ``error`` (BadInputError) otherwise."""
    p = Path(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise error(f"{p}: no such {what}") from None
    except OSError as e:
        raise error(f"{p}: cannot read the {what} ({e.strerror or e})") from None
    if not stat.S_ISREG(st.st_mode):
        raise error(f"{p}: not a regular file ({kind_of(st)}); refusing to read the {what}")
    return st


def open_regular(path: str | os.PathLike, what: str = "file", error: type[Exception] = BadInputError,
                 follow_links: bool = True):  # fmt: skip
    """``(binary file, stat)`` of a regular file opened for reading; ``error`` (BadInputError by default) otherwise.

    Opened non-blocking and checked on the open descriptor (no race with a swap), so a FIFO is refused instead of
    waiting for a writer and a device is never read; ``follow_links=False`` refuses a symlink itself (for files
    inside GenCurve's own folders).
    """
    p = Path(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    if not follow_links:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(p, flags)
    except FileNotFoundError:
        raise error(f"{p}: no such {what}") from None
    except OSError as e:
        if not follow_links and os.path.islink(p):
            raise error(f"{p}: is a symbolic link; refusing to follow it") from None
        raise error(f"{p}: cannot read the {what} ({e.strerror or e})") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):  # checked before wrapping: a directory cannot even be wrapped
        os.close(fd)
        raise error(f"{p}: not a regular file ({kind_of(st)}); refusing to read the {what}")
    return os.fdopen(fd, "rb"), st


def read_regular(path: str | os.PathLike, max_bytes: int, follow_links: bool = True, what: str = "file",
                 error: type[Exception] = BadInputError) -> bytes:  # fmt: skip
    """The bytes of a regular file (see :func:`open_regular`) of at most ``max_bytes``; ``error`` otherwise."""
    f, st = open_regular(path, what, error, follow_links)
    with f:
        if st.st_size > max_bytes:
            raise error(f"{path}: the {what} is larger than {max_bytes} bytes")
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise error(f"{path}: the {what} is larger than {max_bytes} bytes")
    return data


def document_budget_bytes() -> int:
    """The memory one document may take (``GENCURVE_MAX_DOCUMENT_MB``, default 4096 MiB)."""
    raw = os.environ.get("GENCURVE_MAX_DOCUMENT_MB", "")
    try:
        mb = float(raw) if raw else DEFAULT_DOCUMENT_MB
    except ValueError:
        mb = DEFAULT_DOCUMENT_MB
    if not mb > 0 or mb != mb or mb == float("inf"):
        mb = DEFAULT_DOCUMENT_MB
    return int(mb * 2**20)


def check_document_budget(path: Path, width: int, height: int, layers: int, masks: int, deep: int = 0) -> None:
    """Refuse (BadInputError) a document whose layers and edit masks would take more than the budget; ``deep`` of
    the ``layers`` are 16-bit ones, which also hold 8 bytes a pixel of 16-bit pixels."""
    need = width * height * (4 * layers + 8 * deep + masks)
    budget = document_budget_bytes()
    if need > budget:
        sixteen = f", {deep} of them 16-bit," if deep else ""
        raise BadInputError(
            f"{path}: the project needs {need / 2**20:.0f} MiB ({layers} layers{sixteen} and {masks} edit masks of "
            f"{width}x{height}), over the {budget // 2**20} MiB document limit; set GENCURVE_MAX_DOCUMENT_MB to "
            "raise it"
        )
