"""Exporting a document: the merged image (PNG, JPEG, WebP, TIFF) and the mask (PNG)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from gencurve_desktop.document.deep import DEEP_SUFFIXES
from gencurve_desktop.document.document import Document
from gencurve_desktop.document.images import save_image_atomic
from gencurve_desktop.errors import BadInputError

#: Export formats and their fixed options; lossy ones take ``quality`` (default 95; JPEG 4:4:4, images.py).
EXPORT_FORMATS = {
    ".png": {},
    ".jpg": {},
    ".jpeg": {},
    ".webp": {},
    ".tif": {"compression": "tiff_deflate"},
    ".tiff": {"compression": "tiff_deflate"},
    ".avif": {},
    ".heic": {},
    ".heif": {},
}


#: Formats that keep transparency (``alpha=True``); JPEG has no alpha channel.
ALPHA_FORMATS = (".png", ".webp", ".tif", ".tiff", ".avif")


def export_merged(doc: Document, path: str | os.PathLike, alpha: bool = False, quality: int | None = None) -> None:
    """Write the merged image; the format follows the extension, with the photo's ICC profile, EXIF, XMP and DPI
    where the format holds them. ``alpha`` keeps transparency (PNG, WebP, TIFF, AVIF) instead of flattening over
    white; ``quality`` (1-100, default 95) applies to JPEG, WebP, AVIF and HEIC. A document with 16-bit layers is
    written at 16 bits per channel as PNG and TIFF (composited from their 16-bit values), at 8 bits otherwise."""
    suffix = Path(path).suffix.lower()
    if suffix not in EXPORT_FORMATS:
        raise BadInputError(f"{path}: export as .png, .jpg, .webp, .tif, .avif or .heic")
    if alpha and suffix not in ALPHA_FORMATS:
        raise BadInputError(f"{path}: {suffix} has no transparency; export as .png, .webp or .tif to keep it")
    depth = 16 if doc.has_deep_layers and suffix in DEEP_SUFFIXES else 8
    save_image_atomic(doc.composite(alpha=alpha, depth=depth), path, doc.metadata, quality, **EXPORT_FORMATS[suffix])


def export_mask(doc: Document, path: str | os.PathLike) -> None:
    """Write the current mask as an 8-bit PNG (white = region)."""
    if Path(path).suffix.lower() != ".png":
        raise BadInputError(f"{path}: the mask is exported as .png")
    save_image_atomic(doc.mask.astype(np.uint8) * 255, path)
