"""A generated corpus of odd and broken image files: every format Pillow writes in every mode it accepts, each also
truncated and with flipped bytes, plus damaged EXIF blocks, an unimplemented DDS pixel format and non-images."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
from PIL import Image

MODES = [
    "1",
    "L",
    "LA",
    "La",
    "P",
    "PA",
    "RGB",
    "RGBA",
    "RGBa",
    "RGBX",
    "CMYK",
    "YCbCr",
    "LAB",
    "HSV",
    "I",
    "F",
    "I;16",
    "I;16B",
]
EXTENSIONS = [
    "png",
    "jpg",
    "webp",
    "tif",
    "bmp",
    "gif",
    "ico",
    "ppm",
    "tga",
    "pcx",
    "sgi",
    "im",
    "dds",
    "qoi",
    "jp2",
    "xbm",
    "spi",
    "msp",
    "icns",
    "blp",
    "palm",
    "eps",
]


def _in_mode(base: Image.Image, mode: str) -> Image.Image | None:
    if mode in ("I;16", "I;16B"):
        wide = Image.fromarray(np.asarray(base.convert("L"), np.uint16) * 257)
        return wide if mode == "I;16" else wide.convert(mode)
    try:
        return base.convert(mode)
    except (ValueError, OSError):
        try:
            return Image.new(mode, base.size)
        except (ValueError, OSError):
            return None


def _raw_exif(entries) -> bytes:
    """A little-endian TIFF/EXIF block written byte by byte: (tag, type, count, payload)."""
    end = 8 + 2 + 12 * len(entries) + 4
    body, extra = b"", b""
    for tag, typ, count, payload in entries:
        if len(payload) <= 4:
            body += struct.pack("<HHI", tag, typ, count) + payload.ljust(4, b"\0")
        else:
            body += struct.pack("<HHII", tag, typ, count, end + len(extra))
            extra += payload
    return b"Exif\0\0II*\0" + struct.pack("<IH", 8, len(entries)) + body + b"\0\0\0\0" + extra


DAMAGED_EXIF = {
    "exif-resolution-string": [
        (0x0112, 3, 1, struct.pack("<H", 6)),
        (0x011A, 2, 12, b"seventy-two\0"),
        (0x011B, 2, 12, b"seventy-two\0"),
        (0x0128, 3, 1, struct.pack("<H", 2)),
    ],
    "exif-orientation-string": [(0x0112, 2, 8, b"upside!\0")],
    "exif-orientation-9": [(0x0112, 3, 1, struct.pack("<H", 9))],
    "exif-huge-count": [(0x0112, 3, 0x7FFFFFFF, struct.pack("<H", 6))],
}


def make_corpus(folder: Path, seed: int = 0) -> list[Path]:
    """Write the corpus into ``folder``; returns every file (some valid, many broken)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    base = Image.fromarray(rng.integers(0, 255, (24, 32, 3), dtype=np.uint8))
    valid = []
    for mode in MODES:
        im = _in_mode(base, mode)
        for ext in EXTENSIONS if im is not None else []:
            path = folder / f"{mode.replace(';', '_')}.{ext}"
            try:
                im.save(path)
                valid.append(path)
            except Exception:  # this format cannot hold this mode: not part of the corpus
                path.unlink(missing_ok=True)
    files = list(valid)
    for path in valid:
        data = path.read_bytes()
        (folder / f"trunc-{path.name}").write_bytes(data[: len(data) // 2])
        flipped = bytearray(data)
        for i in range(len(flipped) // 3, len(flipped), max(1, len(flipped) // 40)):
            flipped[i] ^= 0xFF
        (folder / f"flip-{path.name}").write_bytes(bytes(flipped))
        files += [folder / f"trunc-{path.name}", folder / f"flip-{path.name}"]
    for name, entries in DAMAGED_EXIF.items():
        for ext in ("jpg", "webp", "png"):
            base.save(folder / f"{name}.{ext}", exif=_raw_exif(entries))
            files.append(folder / f"{name}.{ext}")
    dds = bytearray((folder / "RGB.dds").read_bytes())
    dds[80:84], dds[84:88] = struct.pack("<I", 4), b"ZZZZ"  # a FourCC no decoder knows
    (folder / "dds-unknown-fourcc.dds").write_bytes(bytes(dds))
    (folder / "text.png").write_text("not an image")
    (folder / "empty.jpg").write_bytes(b"")
    return files + [folder / "dds-unknown-fourcc.dds", folder / "text.png", folder / "empty.jpg"]
