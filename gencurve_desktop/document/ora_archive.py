"""Bounded, by-name access to the entries of an untrusted zip (an OpenRaster file being read).

Nothing is ever extracted: entries are read into memory with byte caps; unsafe names, repeated names, too many
entries, oversized entries, suspicious compression ratios and a too large unpacked total are refused.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from gencurve_desktop.errors import BadInputError

MAX_ENTRIES = 4096
MAX_ENTRY_BYTES = 256 * 2**20
MAX_TOTAL_BYTES = 2 * 2**30
MAX_RATIO = 400  # uncompressed / compressed; PNG layers never come near it


def entry_key(name: str) -> str:
    """Entries are addressed relative to the archive root; one leading "/" (written by some tools) is dropped.

    Nothing is ever extracted to disk, but names with "..", backslashes, drive letters or a remaining
    leading "/" are still refused as malformed.
    """
    return name[1:] if name.startswith("/") else name


class Archive:
    """Bounded, by-name access to the entries of an untrusted zip."""

    def __init__(self, path: Path, data: bytes) -> None:
        self.path = path
        try:
            self.zf = zipfile.ZipFile(io.BytesIO(data))
            infos = self.zf.infolist()
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
            raise BadInputError(f"{path}: not an OpenRaster file (not a valid zip: {e})") from None
        if len(infos) > MAX_ENTRIES:
            raise BadInputError(f"{path}: too many entries ({len(infos)})")
        total = 0
        self.infos: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            name = entry_key(info.filename)
            parts = name.split("/")
            if not name or "\\" in name or ":" in name or ".." in parts or "" in parts[:-1] or name.startswith("/"):
                raise BadInputError(f"{path}: refusing an entry with an unsafe name: {info.filename!r}")
            if name in self.infos:
                raise BadInputError(f"{path}: the entry {name!r} appears twice")
            if info.file_size > MAX_ENTRY_BYTES:
                raise BadInputError(f"{path}: entry {name!r} is too large ({info.file_size} bytes)")
            if info.compress_size and info.file_size / info.compress_size > MAX_RATIO and info.file_size > 2**20:
                raise BadInputError(f"{path}: entry {name!r} is compressed suspiciously well (a zip bomb?)")
            total += info.file_size
            self.infos[name] = info
        if total > MAX_TOTAL_BYTES:
            raise BadInputError(f"{path}: the archive would unpack to more than {MAX_TOTAL_BYTES // 2**30} GiB")

    def has(self, name: str) -> bool:
        return entry_key(name) in self.infos

    def read(self, name: str) -> bytes:
        name = entry_key(name)
        if name not in self.infos:
            raise BadInputError(f"{self.path}: the file refers to {name!r}, which is missing")
        info = self.infos[name]
        try:
            with self.zf.open(info) as f:
                data = f.read(info.file_size + 1)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as e:
            raise BadInputError(f"{self.path}: entry {name!r} is damaged ({e})") from None
        if len(data) > info.file_size:
            raise BadInputError(f"{self.path}: entry {name!r} is larger than its header says")
        return data
