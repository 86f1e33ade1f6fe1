"""What a photo file carries besides its pixels, kept from opening to export: the ICC colour profile, EXIF, XMP
and the resolution (DPI). Read and written with Pillow and ImageCms (LittleCMS); nothing here parses a profile or
an EXIF block by hand.

The pixels are edited in the image's own RGB space (the model sees the file's numbers, as editors that keep the
profile do) and the same profile is written back; an image whose profile is not an RGB one (CMYK, grey) is
converted to sRGB by LittleCMS on opening and exported without a profile (sRGB). EXIF is kept with its
orientation set to 1 (the rotation is applied to the pixels on opening).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image

#: Largest metadata block kept (anything larger is dropped, never allocated again): ICC profiles are at most a
#: few hundred KB, EXIF is limited to 64 KB by JPEG's APP1 segment, XMP packets are rarely over a few hundred KB.
MAX_ICC_BYTES = 4 * 2**20
MAX_EXIF_BYTES = 1 * 2**20
MAX_XMP_BYTES = 4 * 2**20
EXIF_ORIENTATION = 0x0112


@dataclass(frozen=True)
class PhotoMetadata:
    """The photo's colour profile and metadata (all optional), as plain bytes and numbers."""

    icc_profile: bytes | None = None
    exif: bytes | None = None  # orientation 1
    xmp: bytes | None = None
    dpi: tuple[float, float] | None = None
    converted_to_srgb: str | None = None  # the profile's colour space when the pixels were converted on opening

    @property
    def profile_name(self) -> str | None:
        """The profile's description (e.g. "Adobe RGB (1998)"), or None."""
        return profile_description(self.icc_profile) if self.icc_profile else None

    def save_options(self, fmt: str) -> dict:
        """Pillow ``save`` keyword arguments that write this metadata in format ``fmt`` (a Pillow format name)."""
        out: dict = {}
        if self.icc_profile and fmt in ("PNG", "JPEG", "TIFF", "WEBP", "AVIF", "HEIF"):
            out["icc_profile"] = self.icc_profile
        if self.exif and fmt in ("PNG", "JPEG", "TIFF", "WEBP", "AVIF", "HEIF"):
            out["exif"] = self.exif
        if self.xmp and fmt in ("JPEG", "WEBP", "AVIF", "HEIF"):
            out["xmp"] = self.xmp
        elif self.xmp and fmt == "PNG":  # an iTXt chunk, as Adobe's XMP specification places it in PNG
            from PIL.PngImagePlugin import PngInfo

            info = PngInfo()
            info.add_itxt("XML:com.adobe.xmp", self.xmp.decode("utf-8", "replace"), zip=False)
            out["pnginfo"] = info
        elif self.xmp and fmt == "TIFF":  # tag 700 of the image's own directory, beside the EXIF tags
            exif = Image.Exif()
            if self.exif:
                exif.load(self.exif)
            exif[700] = self.xmp
            out["exif"] = exif
        if self.dpi and fmt in ("PNG", "JPEG", "TIFF"):
            out["dpi"] = self.dpi
        return out


def profile_description(icc: bytes) -> str | None:
    """The ICC profile's description, read by LittleCMS; None for a profile it cannot parse."""
    from PIL import ImageCms

    try:
        return ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc))).strip() or None
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return None


def _colour_space(icc: bytes) -> str | None:
    from PIL import ImageCms

    try:
        return ImageCms.ImageCmsProfile(io.BytesIO(icc)).profile.xcolor_space.strip()
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError, AttributeError):
        return None


def _bounded(value, limit: int) -> bytes | None:
    if isinstance(value, str):
        value = value.encode("utf-8")
    if isinstance(value, (bytes, bytearray)) and 0 < len(value) <= limit:
        return bytes(value)
    return None


def _dpi(im: Image.Image) -> tuple[float, float] | None:
    dpi = im.info.get("dpi")
    try:
        x, y = (float(v) for v in dpi)
    except (TypeError, ValueError):
        return None
    return (x, y) if 0 < x < 1e6 and 0 < y < 1e6 else None


def _exif(im: Image.Image) -> bytes | None:
    try:
        exif = im.getexif()
        if not exif:
            return None
        if EXIF_ORIENTATION in exif:
            exif[EXIF_ORIENTATION] = 1
        return _bounded(exif.tobytes(), MAX_EXIF_BYTES)
    except Exception:  # a damaged EXIF block loses the metadata, never the picture
        return None


def _xmp(im: Image.Image) -> bytes | None:
    for key in ("xmp", "XML:com.adobe.xmp"):
        found = _bounded(im.info.get(key), MAX_XMP_BYTES)
        if found:
            return found
    tags = getattr(im, "tag_v2", None)  # TIFF: tag 700
    if tags is not None:
        try:
            return _bounded(tags.get(700), MAX_XMP_BYTES)
        except Exception:
            return None
    return None


def read_metadata(im: Image.Image) -> PhotoMetadata:
    """The metadata of an opened (not yet converted) image; unusable or oversized parts are left out."""
    icc = _bounded(im.info.get("icc_profile"), MAX_ICC_BYTES)
    if icc is not None and _colour_space(icc) is None:
        icc = None  # LittleCMS cannot read it: the pixels stay as they are, untagged
    return PhotoMetadata(icc_profile=icc, exif=_exif(im), xmp=_xmp(im), dpi=_dpi(im))


def to_rgb_space(im: Image.Image, meta: PhotoMetadata) -> tuple[Image.Image, PhotoMetadata]:
    """An image whose profile is not RGB (CMYK, grey) converted to sRGB by LittleCMS, its metadata untagged;
    any other image unchanged."""
    from dataclasses import replace

    from PIL import ImageCms

    if meta.icc_profile is None:
        return im, meta
    space = _colour_space(meta.icc_profile)
    if space == "RGB":  # the numbers are the profile's RGB (a grey or palette image's after conversion)
        return im, meta
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(meta.icc_profile))
        base = im.convert("CMYK" if space == "CMYK" else "L") if im.mode not in ("CMYK", "L") else im
        converted = ImageCms.profileToProfile(base, source, ImageCms.createProfile("sRGB"), outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError):
        return im, replace(meta, icc_profile=None)
    return converted, replace(meta, icc_profile=None, converted_to_srgb=space)
