"""OpenRaster (.ora) reading and writing, with GenCurve's data in a namespace other editors ignore.

Writing: ``mimetype`` first and stored, ``stack.xml``, ``data/*.png`` layers, ``mergedimage.png``,
``Thumbnails/thumbnail.png`` (<= 256 px), and ``data/gencurve/`` (document.json, mask and edit masks).
A layer with 16-bit pixels is stored as a 16-bit PNG and read back into ``deep`` (so is any other editor's 16-bit
layer); ``mergedimage.png`` and the thumbnail are 8-bit. Saving is atomic: a temporary file in the same folder,
flushed and fsynced, then renamed over the target.

Reading treats the file as hostile: entries are read by name into memory with byte caps (never extracted),
absolute / traversing names are refused, sizes and compression ratios are bounded, stack.xml is parsed by
defusedxml (no DTDs, entities or external references), and every failure is one BadInputError.
"""

from __future__ import annotations

import io
import json
import os
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np
from defusedxml import ElementTree as SafeET
from PIL import Image

from gencurve_desktop.document import deep
from gencurve_desktop.document.atomic import check_target, write_atomic
from gencurve_desktop.document.document import SCHEMA_VERSION, Document, EditRecord
from gencurve_desktop.document.images import MAX_IMAGE_PIXELS
from gencurve_desktop.document.layers import new_id
from gencurve_desktop.document.metadata import PhotoMetadata, read_metadata
from gencurve_desktop.document.ora_archive import MAX_TOTAL_BYTES, Archive, entry_key
from gencurve_desktop.document.ora_stack import GC, read_tree, stack_xml
from gencurve_desktop.document.safe_files import check_document_budget, read_regular, safe_name
from gencurve_desktop.errors import BadInputError

MIMETYPE = b"image/openraster"
GENCURVE_DIR = "data/gencurve/"
THUMBNAIL_SIDE = 256


# ----------------------------------------------------------------------------------------------- writing


def _png_bytes(pixels: np.ndarray, metadata: PhotoMetadata | None = None, everything: bool = False) -> bytes:
    """PNG bytes (16-bit for uint16 ``pixels``); with ``metadata`` the photo's ICC profile (every layer), and with
    ``everything`` its EXIF, XMP and DPI too (mergedimage.png, where other editors and GenCurve read them back)."""
    buf = io.BytesIO()
    options = {}
    if metadata is not None:
        options = (
            metadata.save_options("PNG")
            if everything
            else ({"icc_profile": metadata.icc_profile} if metadata.icc_profile else {})
        )
    if pixels.dtype == np.uint16:
        return deep.png_bytes(pixels, options, compress_level=4)
    Image.fromarray(pixels).save(buf, "PNG", compress_level=4, **options)
    return buf.getvalue()


def _document_json(doc: Document) -> bytes:
    data = {
        "schema_version": SCHEMA_VERSION,
        "references": [list(p) for p in doc.references],
        "edits": [
            {"id": e.id, "mask": f"{GENCURVE_DIR}edits/{e.id}-mask.png", "provenance": e.provenance} for e in doc.edits
        ],
    }
    return json.dumps(data, indent=1, default=_json_default).encode()


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"cannot store {type(value).__name__} in a project file")


def ora_bytes(doc: Document) -> bytes:
    """The whole .ora file as bytes (ids that could not name a safe, unique entry are renamed first)."""
    make_ids_safe(doc)
    buf = io.BytesIO()
    srcs = {layer.id: f"data/layer-{i:03d}-{layer.id}.png" for i, layer in enumerate(doc.layers)}
    merged = doc.composite(alpha=True)  # the spec: mergedimage.png keeps the image's transparency
    thumb = Image.fromarray(merged)
    thumb.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(zipfile.ZipInfo("mimetype"), MIMETYPE, compress_type=zipfile.ZIP_STORED)
        deflate = zipfile.ZIP_DEFLATED
        zf.writestr("stack.xml", stack_xml(doc, srcs), compress_type=deflate)
        for layer in doc.layers:
            stored = layer.pixels if layer.deep is None else layer.deep  # a 16-bit layer stays 16-bit
            zf.writestr(srcs[layer.id], _png_bytes(stored, doc.metadata), compress_type=zipfile.ZIP_STORED)
        zf.writestr("mergedimage.png", _png_bytes(merged, doc.metadata, True), compress_type=zipfile.ZIP_STORED)
        zf.writestr("Thumbnails/thumbnail.png", _png_bytes(np.asarray(thumb)), compress_type=zipfile.ZIP_STORED)
        zf.writestr(GENCURVE_DIR + "document.json", _document_json(doc), compress_type=deflate)
        zf.writestr(GENCURVE_DIR + "mask.png", _png_bytes(doc.mask.astype(np.uint8) * 255), compress_type=deflate)
        for e in doc.edits:
            zf.writestr(
                f"{GENCURVE_DIR}edits/{e.id}-mask.png", _png_bytes(e.mask.astype(np.uint8) * 255), compress_type=deflate
            )
        written = set(zf.namelist())
        for name, data in doc.extra_files.items():
            if name not in written:
                zf.writestr(name, data, compress_type=deflate)
    return buf.getvalue()


def save_ora(doc: Document, path: str | os.PathLike) -> None:
    """Write ``doc`` to ``path`` atomically: the old file or the new one survives a crash, never a mix."""
    check_target(path)
    data = ora_bytes(doc)
    write_atomic(path, lambda f: f.write(data))


# ----------------------------------------------------------------------------------------------- reading


def _decode_png(archive: Archive, name: str, mode: str, before_16_bits: Callable[[], None] | None = None) -> np.ndarray:
    """The PNG entry ``name`` in Pillow ``mode``; with ``before_16_bits`` (called first: the memory check), an
    RGBA PNG with 16-bit samples comes as H x W x 4 uint16 (OpenCV decodes it, after Pillow's size checks)."""
    data = archive.read(name)
    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise BadInputError(f"{archive.path}: image {name!r} is too large") from None
    except Exception as e:
        raise BadInputError(f"{archive.path}: image {name!r} is damaged or not an image ({e})") from None
    try:
        with im:
            if im.width * im.height > MAX_IMAGE_PIXELS:
                raise BadInputError(f"{archive.path}: image {name!r} is too large ({im.width}x{im.height})")
            if before_16_bits is not None and deep.wide_samples(im):
                before_16_bits()
                samples = deep.decode(data, im.size)
                if samples is not None:
                    return samples
            im.load()
            return np.array(im.convert(mode))
    except BadInputError:
        raise
    except Exception as e:  # Pillow raises many kinds on corrupt data
        raise BadInputError(f"{archive.path}: image {name!r} is damaged or not an image ({e})") from None


def _read_metadata(archive: Archive, srcs: list[str]) -> PhotoMetadata | None:
    """mergedimage.png's ICC profile, EXIF, XMP and DPI (read from its header chunks, pixels not decoded); the
    bottom layer's profile when the merged image has none; None when neither says anything."""
    found = None
    for name in ["mergedimage.png"] + srcs[:1]:
        if not name or not archive.has(name):
            continue
        try:
            with Image.open(io.BytesIO(archive.read(name))) as im:
                meta = read_metadata(im)
        except BadInputError:
            raise
        except Exception:  # a damaged merged image is not needed: the layers are the document
            continue
        if found is None:
            found = meta
        elif found.icc_profile is None and meta.icc_profile is not None:
            found = replace(found, icc_profile=meta.icc_profile)
    return found if found is not None and found != PhotoMetadata() else None


def _int_attr(el, name: str, path: Path, default: int | None = None, lo: int = -(2**20), hi: int = 2**20) -> int:
    raw = el.get(name)
    if raw is None:
        if default is None:
            raise BadInputError(f"{path}: stack.xml: <{el.tag}> has no {name}")
        return default
    try:
        value = int(float(raw))
    except (ValueError, OverflowError):  # "inf", "1e400" and "nan" too
        raise BadInputError(f"{path}: stack.xml: {name}={raw!r} is not a number (a finite integer)") from None
    if not lo <= value <= hi:
        raise BadInputError(f"{path}: stack.xml: {name}={value} is out of range")
    return value


def load_ora(path: str | os.PathLike) -> Document:
    """Read an OpenRaster file (ours or any other editor's) into a Document."""
    path = Path(path)
    data = read_regular(path, MAX_TOTAL_BYTES, what="project file")  # FIFOs, devices and /dev/zero links refused
    if not data:
        raise BadInputError(f"{path}: the file is empty")
    archive = Archive(path, data)

    # 1. mimetype and stack.xml
    if not archive.has("mimetype") or archive.read("mimetype").strip() != MIMETYPE:
        raise BadInputError(f"{path}: not an OpenRaster file (wrong or missing mimetype)")
    if not archive.has("stack.xml"):
        raise BadInputError(f"{path}: not an OpenRaster file (no stack.xml)")
    try:
        root = SafeET.fromstring(archive.read("stack.xml"), forbid_dtd=True)
    except Exception as e:  # defusedxml raises on DTDs / entities, ParseError on bad XML
        raise BadInputError(f"{path}: stack.xml is not valid or safe XML ({type(e).__name__})") from None
    if root.tag != "image":
        raise BadInputError(f"{path}: stack.xml has no <image> root")
    w = _int_attr(root, "w", path, lo=1, hi=65536)
    h = _int_attr(root, "h", path, lo=1, hi=65536)
    if w * h > MAX_IMAGE_PIXELS:
        raise BadInputError(f"{path}: the canvas {w}x{h} is too large")
    stack = root.find("stack")
    if stack is None:
        raise BadInputError(f"{path}: stack.xml has no <stack>")

    # 2. layers, bottom first, placed on the canvas at their offsets
    doc = Document(size=(w, h))
    doc.extra_image_attrs = {
        k: v for k, v in root.attrib.items() if k not in ("version", "w", "h") and not k.startswith(GC)
    }
    entries, doc.groups = read_tree(stack, path)
    check_document_budget(path, w, h, len(entries), 0)
    for el, layer, ox, oy in entries:
        src = el.get("src")
        if not src:
            raise BadInputError(f"{path}: a layer has no src")
        deep_layers = sum(ly.deep is not None for ly in doc.layers) + 1  # a 16-bit layer costs 8 bytes more a pixel
        pixels = _decode_png(
            archive, src, "RGBA", partial(check_document_budget, path, w, h, len(entries), 0, deep_layers)
        )
        canvas = np.zeros((h, w, 4), pixels.dtype)
        x, y = ox + _int_attr(el, "x", path, 0), oy + _int_attr(el, "y", path, 0)
        lh, lw = pixels.shape[:2]
        x0, y0, x1, y1 = max(0, x), max(0, y), min(w, x + lw), min(h, y + lh)
        if x1 > x0 and y1 > y0:
            canvas[y0:y1, x0:x1] = pixels[y0 - y : y1 - y, x0 - x : x1 - x]
        if canvas.dtype == np.uint16:  # authoritative; the 8-bit pixels are its nearest values
            layer.deep, canvas = canvas, deep.to_8bit(canvas)
        layer.pixels = canvas
        doc.layers.append(layer)

    # 3. the photo's profile and metadata, as mergedimage.png carries them (else the bottom layer's profile)
    doc.metadata = _read_metadata(archive, [el.get("src") for el, *_ in entries])

    # 4. GenCurve's own data, when present; then every id made safe and unique (ids become entry names on save)
    if archive.has(GENCURVE_DIR + "document.json"):
        _read_gencurve(archive, doc, len(entries))
    doc.load_notes = make_ids_safe(doc)

    # 5. everything else another editor stored, kept for the next save
    ours = {"mimetype", "stack.xml", "mergedimage.png", "Thumbnails/thumbnail.png"}
    srcs = {entry_key(el.get("src", "")) for el, *_ in entries}
    for name, info in archive.infos.items():
        if name in ours or name in srcs or name.startswith(GENCURVE_DIR) or info.is_dir():
            continue
        doc.extra_files[name] = archive.read(name)
    return doc


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def _read_gencurve(archive: Archive, doc: Document, n_layers: int) -> None:
    try:
        meta = json.loads(archive.read(GENCURVE_DIR + "document.json"), parse_constant=_no_constant)
        if not isinstance(meta, dict):
            raise ValueError("not an object")
    except RecursionError:
        raise BadInputError(f"{archive.path}: GenCurve data is damaged (nested too deeply)") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise BadInputError(f"{archive.path}: GenCurve data is damaged ({e})") from None
    version = meta.get("schema_version")
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise BadInputError(f"{archive.path}: written by a newer GenCurve (schema {version}); please update")
    if archive.has(GENCURVE_DIR + "mask.png"):
        mask = _decode_png(archive, GENCURVE_DIR + "mask.png", "L") >= 128
        if mask.shape == (doc.height, doc.width):
            doc.mask = mask
    try:
        doc.references = [_reference(p, doc) for p in meta.get("references", [])]
        edits = meta.get("edits", [])
        if not isinstance(edits, list):
            raise ValueError("edits is not a list")
        deep_layers = sum(ly.deep is not None for ly in doc.layers)
        check_document_budget(archive.path, doc.width, doc.height, n_layers, len(edits), deep_layers)
        for e in edits:
            name = str(e["mask"])
            mask = _decode_png(archive, name, "L") >= 128
            if mask.shape != (doc.height, doc.width):
                raise ValueError(f"edit mask {name} has the wrong size")
            if not isinstance(e["provenance"], dict):
                raise ValueError("an edit's provenance is not an object")
            doc.edits.append(EditRecord(provenance=dict(e["provenance"]), mask=mask, id=str(e["id"])))
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, OverflowError) as e:
        raise BadInputError(f"{archive.path}: GenCurve data is damaged ({e})") from None


def _reference(p, doc: Document) -> tuple[int, int]:
    """A stored reference point: two finite integers inside the canvas."""
    x, y = int(p[0]), int(p[1])  # int(1e1000) raises OverflowError, int("x") ValueError
    if not (0 <= x < doc.width and 0 <= y < doc.height):
        raise ValueError(f"reference point {x},{y} lies outside the canvas")
    return x, y


def make_ids_safe(doc: Document) -> list[str]:
    """Give every layer, group and edit a safe, unique id (a hostile file's ids could name zip entries such as
    ``../x`` or collide); returns one line per id changed. Layers follow their renamed group or edit."""
    renamed: list[str] = []
    seen: set[str] = set()

    def fresh(kind: str, old: str) -> str:
        if safe_name(old) and old not in seen:
            seen.add(old)
            return old
        new = new_id()
        seen.add(new)
        renamed.append(f"{kind} id {old!r} -> {new}")
        return new

    group_map = {}
    for gid, group in list(doc.groups.items()):
        group.id = fresh("group", gid)
        group_map[gid] = group.id
    doc.groups = {g.id: g for g in doc.groups.values()}
    for group in doc.groups.values():
        group.parent = group_map.get(group.parent, group.parent if group.parent in doc.groups else None)
    edit_map = {}
    for e in doc.edits:
        new = fresh("edit", e.id)
        edit_map.setdefault(e.id, new)
        e.id = new
    for layer in doc.layers:
        layer.id = fresh("layer", layer.id)
        if layer.parent is not None:
            layer.parent = group_map.get(layer.parent) if group_map.get(layer.parent) in doc.groups else None
        if layer.edit_id is not None:
            layer.edit_id = edit_map.get(layer.edit_id)
    return renamed
