"""Reading untrusted image files into plain RGB / mask arrays, and writing images atomically."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from gencurve_desktop.document.atomic import check_target, write_atomic
from gencurve_desktop.errors import BadInputError

#: Largest image we accept, in pixels (about 8k x 8k). Pillow raises a DecompressionBombError above it.
MAX_IMAGE_PIXELS = 64_000_000
#: Largest image file we read at all.
MAX_FILE_BYTES = 512 * 1024 * 1024


def _open_checked(path: str | os.PathLike) -> Image.Image:
    p = Path(path)
    if not p.exists():
        raise BadInputError(f"{p}: no such file")
    if p.is_dir():
        raise BadInputError(f"{p}: is a directory, not an image file")
    size = p.stat().st_size
    if size == 0:
        raise BadInputError(f"{p}: the file is empty")
    if size > MAX_FILE_BYTES:
        raise BadInputError(f"{p}: the file is larger than {MAX_FILE_BYTES // 2**20} MiB")
    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(p) as opened:
                if opened.width * opened.height > MAX_IMAGE_PIXELS:
                    raise Image.DecompressionBombError("too many pixels")
                opened.seek(0)  # animated images: the first frame
                opened.load()
                exif = opened.getexif()
                im = opened.copy()  # detached from the file, which is closed here
                if exif:
                    im.info["exif"] = exif.tobytes()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise BadInputError(
            f"{p}: the image is too large (more than {MAX_IMAGE_PIXELS // 1_000_000} megapixels); "
            "refusing it as a possible decompression bomb"
        ) from None
    except UnidentifiedImageError:
        raise BadInputError(f"{p}: not an image file Pillow can read") from None
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise BadInputError(f"{p}: the image file is damaged or truncated ({e})") from None
    return im


def _to_8bit(im: Image.Image) -> Image.Image:
    """16-bit and 32-bit single-channel images scaled to 8 bits (full range kept)."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        a = np.asarray(im, dtype=np.float64)
        if im.mode.startswith("I;16"):
            a = a / 65535.0
        else:
            lo, hi = float(a.min()), float(a.max())
            a = (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)
        return Image.fromarray(np.clip(np.rint(a * 255.0), 0, 255).astype(np.uint8), "L")
    return im


def load_rgb(path: str | os.PathLike) -> np.ndarray:
    """Read an image as an H x W x 3 uint8 array.

    EXIF orientation is applied, animated images give their first frame, CMYK / palette / grey /
    16-bit images are converted, and transparency is composited over white (as editors flatten).
    Any unreadable, truncated, oversized or non-image file raises :class:`BadInputError`.
    """
    im = _open_checked(path)
    try:
        im = ImageOps.exif_transpose(im)
    except Exception:  # a damaged EXIF block must not lose the picture
        pass
    im = _to_8bit(im)
    has_alpha = im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info)
    if has_alpha:
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        im = Image.alpha_composite(white, rgba)
    return np.array(im.convert("RGB"), dtype=np.uint8)


def load_mask(path: str | os.PathLike, size: tuple[int, int] | None = None) -> np.ndarray:
    """Read a mask as an H x W bool array: white (>= 128) is the region (DESIGN §5).

    `size` is the (width, height) the mask must have; a mismatch raises :class:`BadInputError`.
    """
    im = _open_checked(path)
    try:
        im = ImageOps.exif_transpose(im)
    except Exception:
        pass
    im = _to_8bit(im)
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        # transparent pixels are never part of the region
        rgba = np.array(im.convert("RGBA"))
        grey = np.array(Image.fromarray(rgba[..., :3]).convert("L"))
        grey = np.where(rgba[..., 3] >= 128, grey, 0)
    else:
        grey = np.array(im.convert("L"))
    mask = grey >= 128
    if size is not None and (mask.shape[1], mask.shape[0]) != tuple(size):
        raise BadInputError(f"{path}: mask is {mask.shape[1]}x{mask.shape[0]} but the image is {size[0]}x{size[1]}")
    return mask


def save_image_atomic(pixels: np.ndarray, path: str | os.PathLike, **save_kwargs) -> None:
    """Write an image through a temporary file in the same folder, fsync, then replace: never half-written."""
    path = check_target(path)
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None:
        raise BadInputError(f"{path}: unknown image extension {path.suffix!r}")
    image = Image.fromarray(pixels)
    if fmt == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    write_atomic(path, lambda f: image.save(f, format=fmt, **save_kwargs))
