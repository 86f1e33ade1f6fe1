"""Reading untrusted image files into plain RGB / mask arrays, and writing images atomically."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from gencurve_desktop.document import deep
from gencurve_desktop.document.atomic import check_target, write_atomic
from gencurve_desktop.document.metadata import PhotoMetadata, read_metadata, to_rgb_space
from gencurve_desktop.document.safe_files import check_regular
from gencurve_desktop.errors import BadInputError, OutOfMemoryError

#: Largest image we accept, in pixels (about 8k x 8k). Pillow raises a DecompressionBombError above it.
MAX_IMAGE_PIXELS = 64_000_000
#: Largest image file we read at all.
MAX_FILE_BYTES = 512 * 1024 * 1024


#: EXIF orientation -> the transposes that undo it (the same table as Pillow's ImageOps.exif_transpose).
ORIENTATION = {
    2: [Image.Transpose.FLIP_LEFT_RIGHT],
    3: [Image.Transpose.ROTATE_180],
    4: [Image.Transpose.FLIP_TOP_BOTTOM],
    5: [Image.Transpose.TRANSPOSE],
    6: [Image.Transpose.ROTATE_270],
    7: [Image.Transpose.TRANSVERSE],
    8: [Image.Transpose.ROTATE_90],
}


def _check_file(p: Path) -> None:
    if not p.exists():
        raise BadInputError(f"{p}: no such file")
    if p.is_dir():
        raise BadInputError(f"{p}: is a directory, not an image file")
    size = check_regular(p, "image file").st_size  # a FIFO or device (or a link to one) is never opened
    if size == 0:
        raise BadInputError(f"{p}: the file is empty")
    if size > MAX_FILE_BYTES:
        raise BadInputError(f"{p}: the file is larger than {MAX_FILE_BYTES // 2**20} MiB")


def _register_heif() -> None:
    """HEIC/HEIF (what phones save) through pillow-heif, when it is installed; AVIF is Pillow's own."""
    try:
        import pillow_heif

        pillow_heif.register_heif_opener()
    except ImportError:
        pass


_register_heif()


def _read(path: str | os.PathLike, convert, keep: list | None = None, wide=None) -> np.ndarray:
    """The one image-reading policy: ``convert(image)`` gives the array, or the file is refused with one line.
    ``keep``: a list that receives the file's :class:`PhotoMetadata` (profile, EXIF, XMP, DPI). ``wide``: what
    makes the array of a PNG or TIFF with 16-bit RGB or grey samples from them (upright H x W x 4 uint16) when
    no colour conversion was needed; such a file is decoded a second time, by OpenCV, after Pillow's checks.

    Whatever Pillow raises while opening, decoding, reading EXIF, transposing or converting (damaged EXIF,
    unimplemented formats or modes, truncation) becomes :class:`BadInputError`; its warnings never reach stderr.
    """
    p = Path(path)
    try:
        _check_file(p)
    except OSError as e:  # unreadable folder, a symlink loop, a name too long
        raise BadInputError(f"{p}: cannot read the file ({e.strerror or e})") from None
    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(p) as opened:
                if opened.width * opened.height > MAX_IMAGE_PIXELS:
                    raise Image.DecompressionBombError("too many pixels")
                opened.seek(0)  # animated images: the first frame
                data = _raw_bytes(opened) if wide is not None and deep.wide_samples(opened) else None
                stored = opened.size
                opened.load()
                orientation = _orientation(opened)
                meta = read_metadata(opened)
                im = opened.copy()  # detached from the file, which is closed here
            for transpose in ORIENTATION.get(orientation, []):
                im = im.transpose(transpose)
            rgb_space, meta = to_rgb_space(im, meta)
            if keep is not None:
                keep.append(meta)
            samples = deep.decode(data, stored) if data and rgb_space is im else None  # im: no conversion needed
            if samples is not None:  # turned as the 8-bit pixels were
                return wide(deep.orient(samples, orientation))
            return convert(_to_8bit(rgb_space))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise BadInputError(
            f"{p}: the image is too large (more than {MAX_IMAGE_PIXELS // 1_000_000} megapixels); "
            "refusing it as a possible decompression bomb"
        ) from None
    except BadInputError:
        raise
    except UnidentifiedImageError:
        raise BadInputError(f"{p}: not an image file Pillow can read") from None
    except MemoryError:
        raise OutOfMemoryError(f"{p}: not enough memory to decode the image") from None
    except (OSError, SyntaxError, EOFError) as e:
        raise BadInputError(f"{p}: the image file is damaged or truncated ({_one_line(e)})") from None
    except Exception as e:  # NotImplementedError (formats), ValueError (modes), TypeError (damaged metadata), ...
        raise BadInputError(f"{p}: cannot read this image ({type(e).__name__}: {_one_line(e)})") from None


def _raw_bytes(opened: Image.Image) -> bytes | None:
    """The whole file, from the descriptor Pillow holds open (the file it checked, even if renamed over since)."""
    fp = opened.fp
    if fp is None:
        return None
    here = fp.tell()
    fp.seek(0)
    data = fp.read(MAX_FILE_BYTES + 1)
    fp.seek(here)
    return data if len(data) <= MAX_FILE_BYTES else None


def _orientation(im: Image.Image) -> int | None:
    """The EXIF orientation if it is a valid one; a damaged EXIF block loses the rotation, never the picture."""
    try:
        value = im.getexif().get(0x0112)
        return int(value) if isinstance(value, int) and 1 <= value <= 8 else None
    except Exception:
        return None


def _one_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


def _to_8bit(im: Image.Image) -> Image.Image:
    """16-bit and 32-bit single-channel images scaled to 8 bits (full range kept)."""
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        a = np.asarray(im, dtype=np.float64)
        if im.mode.startswith("I;16"):
            a = a / 65535.0
        else:
            lo, hi = float(a.min()), float(a.max())
            a = (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)
        return Image.fromarray(np.clip(np.rint(a * 255.0), 0, 255).astype(np.uint8), "L")
    return im


def _has_alpha(im: Image.Image) -> bool:
    return im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (im.mode == "P" and "transparency" in im.info)


def _lab_to_rgb(im: Image.Image) -> Image.Image:
    from PIL import ImageCms

    transform = ImageCms.buildTransform(ImageCms.createProfile("LAB"), ImageCms.createProfile("sRGB"), "LAB", "RGB")
    return ImageCms.applyTransform(im, transform)


def _rgb_array(im: Image.Image) -> np.ndarray:
    if im.mode == "LAB":
        im = _lab_to_rgb(im)
    if _has_alpha(im):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        im = Image.alpha_composite(white, rgba)
    return np.array(im.convert("RGB"), dtype=np.uint8)


def _grey_array(im: Image.Image) -> np.ndarray:
    if im.mode == "LAB":
        return np.array(im.getchannel("L"), dtype=np.uint8)  # lightness
    if _has_alpha(im):  # transparent pixels are never part of the region
        rgba = np.array(im.convert("RGBA"))
        grey = np.array(Image.fromarray(rgba[..., :3]).convert("L"))
        return np.where(rgba[..., 3] >= 128, grey, 0).astype(np.uint8)
    return np.array(im.convert("L"), dtype=np.uint8)


def _rgb_of_deep(rgba: np.ndarray) -> np.ndarray:
    return deep.to_8bit(deep.flatten(rgba))


def load_rgb(path: str | os.PathLike) -> np.ndarray:
    """Read an image as an H x W x 3 uint8 array.

    EXIF orientation is applied, animated images give their first frame, CMYK / LAB / YCbCr / palette / grey /
    16-bit images are converted (16-bit RGB and grey samples to their nearest 8-bit values, round(v / 257)), and
    transparency is composited over white (as editors flatten).
    Any unreadable, truncated, oversized or non-image file raises :class:`BadInputError`.
    """
    return _read(path, _rgb_array, wide=_rgb_of_deep)


def load_photo(path: str | os.PathLike, depth16: bool = False) -> tuple[np.ndarray, PhotoMetadata]:
    """:func:`load_rgb` and what the file carries besides the pixels (ICC profile, EXIF with orientation 1, XMP,
    DPI), to be written back on export (:mod:`gencurve_desktop.document.metadata`).

    ``depth16``: a PNG or TIFF with 16-bit RGB or grey samples (and no colour conversion on opening: not CMYK,
    LAB or a grey profile) comes back as H x W x 3 **uint16**, its own values (over white where it has alpha),
    upright; :func:`load_rgb` gives their nearest 8-bit values. Any other file is uint8 as without it."""
    keep: list[PhotoMetadata] = []
    rgb = _read(path, _rgb_array, keep, wide=deep.flatten if depth16 else _rgb_of_deep)
    return rgb, keep[0]


def load_mask(path: str | os.PathLike, size: tuple[int, int] | None = None) -> np.ndarray:
    """Read a mask as an H x W bool array: white (>= 128) is the region (DESIGN §5).

    `size` is the (width, height) the mask must have; a mismatch raises :class:`BadInputError`.
    """
    mask = _read(path, _grey_array) >= 128
    if size is not None and (mask.shape[1], mask.shape[0]) != tuple(size):
        raise BadInputError(f"{path}: mask is {mask.shape[1]}x{mask.shape[0]} but the image is {size[0]}x{size[1]}")
    return mask


def load_grey(path: str | os.PathLike, size: tuple[int, int] | None = None) -> np.ndarray:
    """Read a grey-level map (a fixation or saliency map) as an H x W uint8 array, resized to ``size``
    (width, height) with area averaging when it differs; the same reading policy as :func:`load_rgb`."""
    grey = _read(path, _grey_array)
    if size is not None and (grey.shape[1], grey.shape[0]) != tuple(size):
        grey = np.array(Image.fromarray(grey).resize(tuple(size), Image.Resampling.BOX), dtype=np.uint8)
    return grey


#: Extensions an edited or exported RGB image may be written as (HEIC when pillow-heif is installed).
IMAGE_OUTPUTS = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp", ".avif", ".heic", ".heif")
#: Lossy formats' settings: JPEG at quality 95 with no chroma subsampling (4:4:4), as editors export photos.
LOSSY_DEFAULTS = {"JPEG": {"quality": 95, "subsampling": 0}, "WEBP": {"quality": 95}, "AVIF": {"quality": 95},
                  "HEIF": {"quality": 95}}  # fmt: skip
DEFAULT_QUALITY = 95


def check_quality(quality: int | None) -> None:
    """A lossy quality must be 1..100 (None: the default)."""
    if quality is not None and not (isinstance(quality, int) and 1 <= quality <= 100):
        raise BadInputError(f"--quality must be in 1..100, got {quality}")


def image_writer(
    pixels: np.ndarray,
    path: str | os.PathLike,
    metadata: PhotoMetadata | None = None,
    quality: int | None = None,
    **save_kwargs,
):
    """A function that writes ``pixels`` into a binary file in the format of ``path``'s extension, with the
    photo's ``metadata`` (profile, EXIF, XMP, DPI where the format holds them) and the lossy ``quality``.

    H x W x 3 or 4 uint16 ``pixels`` are written at 16 bits per channel as PNG and TIFF (:mod:`.deep`); every
    other format gets their nearest 8-bit values."""
    path = Path(path)
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None or fmt not in Image.SAVE:
        raise BadInputError(f"{path}: cannot write images as {path.suffix!r}")
    check_quality(quality)
    if pixels.dtype == np.uint16 and pixels.ndim == 3:  # 16-bit RGB(A); 16-bit grey is Pillow's own (I;16)
        if path.suffix.lower() in deep.DEEP_SUFFIXES:
            return _deep_writer(pixels, fmt, metadata, save_kwargs)
        pixels = deep.to_8bit(pixels)
    image = Image.fromarray(pixels)
    if fmt == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    options = {**LOSSY_DEFAULTS.get(fmt, {}), **(metadata.save_options(fmt) if metadata else {}), **save_kwargs}
    if quality is not None and fmt in LOSSY_DEFAULTS:
        options["quality"] = quality
    return lambda f: image.save(f, format=fmt, **options)


def _deep_writer(pixels: np.ndarray, fmt: str, metadata: PhotoMetadata | None, save_kwargs: dict):
    if fmt == "PNG":
        options = metadata.save_options("PNG") if metadata else {}
        return lambda f: f.write(deep.png_bytes(pixels, options, save_kwargs.get("compress_level", 6)))
    deflate = save_kwargs.get("compression") == "tiff_deflate"
    return lambda f: deep.write_tiff(f, pixels, metadata, deflate)


def save_image_atomic(
    pixels: np.ndarray,
    path: str | os.PathLike,
    metadata: PhotoMetadata | None = None,
    quality: int | None = None,
    **save_kwargs,
) -> None:
    """Write an image through a temporary file in the same folder, fsync, then replace: never half-written."""
    path = check_target(path)
    write_atomic(path, image_writer(pixels, path, metadata, quality, **save_kwargs))
