"""16-bit pixels: read from PNG and TIFF files, their nearest 8-bit values, and written back as 16-bit PNG and TIFF
with the photo's profile and metadata.

A layer's ``deep`` pixels (H x W x 4 uint16, straight alpha) are authoritative; its 8-bit ``pixels`` are
:func:`to_8bit` of them (what the screen, the model and 8-bit formats get). OpenCV decodes and encodes the 16-bit
samples (Pillow reads them at 8 bits); the PNG's metadata chunks are the ones Pillow writes for the 8-bit export
(so both carry the same profile, EXIF, XMP and DPI), and TIFF is written by tifffile.
"""

from __future__ import annotations

import io
import struct
from typing import BinaryIO

import cv2
import numpy as np
from PIL import Image

from gencurve_desktop.document.metadata import PhotoMetadata

#: Extensions written at 16 bits per channel; every other format gets the nearest 8-bit values.
DEEP_SUFFIXES = (".png", ".tif", ".tiff")
#: Pillow modes of files whose 16-bit samples are read as they are (RGB and grey, with or without alpha).
_DEEP_MODES = ("RGB", "RGBA", "LA", "I;16", "I;16B", "I;16L", "I;16N")
#: EXIF main-directory tags that are TIFF's own text tags: what of the EXIF a 16-bit TIFF keeps (see docs).
_TIFF_TEXT_TAGS = (270, 271, 272, 305, 306, 315, 33432)


def to_8bit(deep: np.ndarray) -> np.ndarray:
    """The nearest 8-bit values of 16-bit samples: round(v / 257) (what 16-bit grey files have always been read
    as; :func:`to_16bit` brings each back exactly)."""
    return ((deep.astype(np.uint32) + 128) // 257).astype(np.uint8)


def to_16bit(pixels: np.ndarray) -> np.ndarray:
    """8-bit samples at 16 bits (v * 257: 255 -> 65535), exactly what :func:`to_8bit` brings back."""
    return pixels.astype(np.uint16) * 257


def deepen(pixels: np.ndarray, under: np.ndarray) -> np.ndarray:
    """``pixels`` (uint8) at 16 bits: a pixel that equals ``under``'s (uint16, same shape) nearest 8-bit value in
    every channel takes ``under``'s 16-bit value (an edit left it alone), any other pixel is ``pixels`` * 257."""
    same = np.all(pixels == to_8bit(under), axis=-1, keepdims=True)
    return np.where(same, under, to_16bit(pixels))


def wide_samples(im: Image.Image) -> bool:
    """Whether an opened, not yet loaded PNG or TIFF stores 16-bit RGB or grey samples (Pillow will read them at
    8 bits): its first tile's raw mode names them (``RGB;16B``, ``I;16N``, ...)."""
    if im.format not in ("PNG", "TIFF") or im.mode not in _DEEP_MODES or not im.tile:
        return False
    args = im.tile[0].args
    rawmode = args if isinstance(args, str) else (args[0] if isinstance(args, tuple) and args else "")
    return isinstance(rawmode, str) and ";16" in rawmode


def decode(data: bytes, size: tuple[int, int]) -> np.ndarray | None:
    """A PNG or TIFF's 16-bit pixels as H x W x 4 uint16 RGBA (straight alpha; grey as R = G = B; opaque when it
    has no alpha), or None when OpenCV reads something else or another size (``size``: width, height). Call it
    only on a file Pillow has checked (size, pixel count): it decodes at once."""
    a = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)  # ignores the EXIF orientation
    if a is None or a.dtype != np.uint16 or a.shape[:2] != (size[1], size[0]):
        return None
    if a.ndim == 2:
        a = a[..., None]
    if a.shape[2] not in (1, 3, 4):
        return None
    rgb = np.repeat(a, 3, axis=2) if a.shape[2] == 1 else a[..., 2::-1]
    alpha = a[..., 3:4] if a.shape[2] == 4 else np.full(a.shape[:2] + (1,), 65535, np.uint16)
    return np.ascontiguousarray(np.concatenate([rgb, alpha], axis=2))


#: EXIF orientation -> the same transposes as images.ORIENTATION (Pillow's), on arrays.
_ORIENT = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: np.rot90(a, 2).swapaxes(0, 1),
    8: lambda a: np.rot90(a, 1),
}


def orient(a: np.ndarray, orientation: int | None) -> np.ndarray:
    """``a`` (H x W x C) turned upright for an EXIF ``orientation``, as the 8-bit pixels are."""
    turn = _ORIENT.get(orientation)
    return a if turn is None else np.ascontiguousarray(turn(a))


def flatten(rgba: np.ndarray) -> np.ndarray:
    """16-bit RGBA over white, H x W x 3 uint16 (opaque pixels keep their values exactly)."""
    if int(rgba[..., 3].min()) == 65535:
        return rgba[..., :3].copy()
    a = rgba[..., 3:4].astype(np.float64) / 65535.0
    out = np.rint(rgba[..., :3] * a + 65535.0 * (1.0 - a))
    return np.clip(out, 0, 65535).astype(np.uint16)


# ----------------------------------------------------------------------------------------------- writing


def _chunks(png: bytes) -> list[bytes]:
    """The whole chunks (length, type, data, CRC) of a PNG one of our encoders just wrote."""
    out, pos = [], 8
    while pos + 8 <= len(png):
        (n,) = struct.unpack(">I", png[pos : pos + 4])
        out.append(png[pos : pos + 12 + n])
        pos += 12 + n
    return out


def png_bytes(pixels: np.ndarray, options: dict | None = None, compress_level: int = 6) -> bytes:
    """A 16-bit PNG of ``pixels`` (H x W x 3 or 4 uint16, straight alpha) encoded by OpenCV, carrying the chunks
    Pillow writes for the ``options`` of its PNG ``save`` (icc_profile, exif, pnginfo, dpi; see metadata.py)."""
    bgr = pixels[..., 2::-1] if pixels.shape[2] == 3 else pixels[..., [2, 1, 0, 3]]
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(bgr), [cv2.IMWRITE_PNG_COMPRESSION, compress_level])
    if not ok:
        raise ValueError("OpenCV could not encode the 16-bit PNG")
    chunks = _chunks(encoded.tobytes())
    if options:  # the metadata chunks of a 1 x 1 PNG Pillow saves with the same options, before the pixels
        donor = io.BytesIO()
        Image.new("RGB", (1, 1)).save(donor, "PNG", **options)
        extra = [c for c in _chunks(donor.getvalue()) if c[4:8] not in (b"IHDR", b"IDAT", b"IEND")]
        chunks = chunks[:1] + extra + chunks[1:]
    return encoded.tobytes()[:8] + b"".join(chunks)


def _exif_resolution(exif: Image.Exif) -> dict:
    """tifffile's resolution options from the EXIF's (TIFF's own tags 282, 283, 296), as Pillow's 8-bit TIFF keeps
    them; none when they are missing or unusable."""
    try:
        x, y, unit = float(exif[282]), float(exif[283]), int(exif.get(296, 2))
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return {}
    ok = unit in (2, 3) and 0 < x < 1e6 and 0 < y < 1e6
    return {"resolution": (x, y), "resolutionunit": "INCH" if unit == 2 else "CENTIMETER"} if ok else {}


def write_tiff(f: BinaryIO, pixels: np.ndarray, metadata: PhotoMetadata | None, deflate: bool) -> None:
    """A 16-bit TIFF of ``pixels`` (H x W x 3 or 4 uint16, straight alpha) written by tifffile with the ICC
    profile, XMP (tag 700), DPI and the EXIF's tags that TIFF has itself (Make, Model, DateTime, ..., and the
    resolution); the rest of the EXIF is not written (tifffile writes no EXIF directory)."""
    import tifffile

    m = metadata or PhotoMetadata()
    tags = [(700, "B", len(m.xmp), m.xmp, True)] if m.xmp else []
    exif = Image.Exif()
    if m.exif:
        exif.load(m.exif)
        tags += [(t, "s", 0, exif[t], True) for t in _TIFF_TEXT_TAGS if isinstance(exif.get(t), str) and exif[t]]
    options: dict = {"resolution": m.dpi, "resolutionunit": "INCH"} if m.dpi else _exif_resolution(exif)
    if pixels.shape[2] == 4:
        options["extrasamples"] = ("unassalpha",)  # straight alpha
    buf = io.BytesIO()  # tifffile wants a named file or a memory one, not a descriptor's
    tifffile.imwrite(buf, pixels, photometric="rgb", compression="zlib" if deflate else None,
                     iccprofile=m.icc_profile, metadata=None, software=False, extratags=tags, **options)  # fmt: skip
    f.write(buf.getvalue())
