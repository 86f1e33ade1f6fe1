"""16-bit photos stay 16-bit (issue 22): files ImageMagick and exiftool made (tests/data/photos/*-16*,
scripts/make_photo_fixtures.sh) open with their own 16-bit values, composite and export at 16 bits with their
profile and metadata, and round-trip through the .ora; the outputs are read back with OpenCV and, where installed,
with ImageMagick (`convert ... rgb:-`, `identify`) and exiftool. Hostile 16-bit files are refused as before."""

from __future__ import annotations

import io
import json
import shutil
import struct
import subprocess
import zipfile
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from gencurve_desktop.document.changes import AddEdit
from gencurve_desktop.document.deep import deepen, orient, to_8bit
from gencurve_desktop.document.document import Document, EditRecord
from gencurve_desktop.document.export import export_merged
from gencurve_desktop.document.images import ORIENTATION, load_photo, load_rgb, save_image_atomic
from gencurve_desktop.document.layers import Layer
from gencurve_desktop.document.ora import load_ora, save_ora
from gencurve_desktop.errors import BadInputError

PHOTOS = Path(__file__).parents[1] / "data" / "photos"
DEEP = {"adobe-rgb-16.png": "Adobe RGB (1998)", "prophoto-rgb-16.tif": "ProPhoto RGB"}


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (scripts/make_photo_fixtures.sh names the packages)")
    return found


def opencv(path: Path) -> np.ndarray:
    """The file's samples as OpenCV reads them (RGB, or RGBA)."""
    a = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    return a[..., [2, 1, 0, 3][: a.shape[2]]] if a.ndim == 3 else a


def magick(path: Path) -> np.ndarray:
    """The file's 16-bit RGB samples as ImageMagick writes them raw."""
    convert = tool("convert")
    w, h = (int(v) for v in subprocess.check_output([convert, str(path), "-format", "%w %h", "info:"]).split())
    raw = subprocess.run([convert, str(path), "-depth", "16", "-endian", "MSB", "rgb:-"], capture_output=True,
                         check=True).stdout  # fmt: skip
    return np.frombuffer(raw, ">u2").reshape(h, w, 3).astype(np.uint16)


def depth_and_channels(path: Path) -> str:
    return subprocess.check_output([tool("identify"), "-format", "%z %[channels]", str(path)], text=True).strip()


@pytest.mark.parametrize("name", DEEP)
def test_a_16_bit_photo_opens_with_its_own_16_bit_values_and_metadata(name):
    photo, meta = load_photo(PHOTOS / name, depth16=True)
    assert photo.dtype == np.uint16 and photo.shape == (64, 96, 3)
    assert np.array_equal(photo, opencv(PHOTOS / name))
    assert np.count_nonzero(photo % 257) > photo.size // 2  # real 16-bit values, not 8-bit ones times 257
    assert DEEP[name] in meta.profile_name and b"TestCam" in meta.exif and b"Harbour" in meta.xmp
    assert np.array_equal(load_rgb(PHOTOS / name), to_8bit(photo))  # the 8-bit view: the nearest values
    assert load_photo(PHOTOS / name)[0].dtype == np.uint8  # without depth16, as before


@pytest.mark.parametrize("name", DEEP)
def test_imagemagick_reads_the_same_16_bit_values(name):
    assert np.array_equal(load_photo(PHOTOS / name, depth16=True)[0], magick(PHOTOS / name))


def test_a_rotated_16_bit_grey_photo_is_turned_as_the_8_bit_pixels_are():
    path = PHOTOS / "grey-16-rotated.png"
    photo, meta = load_photo(path, depth16=True)
    assert photo.dtype == np.uint16 and photo.shape == (64, 96, 3)  # stored 64 wide, Orientation 6
    assert np.array_equal(photo[..., 0], photo[..., 2])
    assert np.array_equal(to_8bit(photo), load_rgb(path))
    upright = cv2.imread(str(path), cv2.IMREAD_COLOR | cv2.IMREAD_ANYDEPTH)  # OpenCV applies the orientation
    assert upright.dtype == np.uint16 and np.array_equal(photo, upright)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_the_array_turns_are_pillows(orientation):
    a = np.random.default_rng(orientation).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    im = Image.fromarray(a)
    for transpose in ORIENTATION.get(orientation, []):
        im = im.transpose(transpose)
    assert np.array_equal(orient(a, orientation), np.asarray(im))


def test_a_cmyk_16_bit_tiff_keeps_the_8_bit_path(tmp_path):
    path = tmp_path / "cmyk16.tif"
    subprocess.run([tool("convert"), str(PHOTOS / "adobe-rgb-16.png"), "-colorspace", "cmyk", "-depth", "16",
                    str(path)], check=True)  # fmt: skip
    assert load_photo(path, depth16=True)[0].dtype == np.uint8


@pytest.mark.parametrize("name", DEEP)
@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_export_writes_16_bits_with_the_profile_and_metadata(tmp_path, name, suffix):
    photo, meta = load_photo(PHOTOS / name, depth16=True)
    out = tmp_path / f"out{suffix}"
    export_merged(Document.from_image(photo, metadata=meta), out)
    assert np.array_equal(opencv(out), photo)
    again, kept = load_photo(out, depth16=True)
    assert np.array_equal(again, photo) and kept.icc_profile == meta.icc_profile and b"Harbour" in kept.xmp
    assert b"TestCam" in kept.exif
    assert depth_and_channels(out) == "16 srgb"
    assert np.array_equal(magick(out), photo)
    tags = exiftool_tags(out)
    assert tags["Make"] == "TestCam" and tags["Model"] == "GC One" and tags["Title"] == "Harbour", tags
    assert DEEP[name] in tags["ProfileDescription"] and tags["XResolution"] == 300, tags


def exiftool_tags(path: Path) -> dict:
    out = subprocess.run([tool("exiftool"), "-j", "-lang", "en", "-Make", "-Model", "-Title", "-ProfileDescription",
                          "-XResolution", str(path)], capture_output=True, text=True, check=True).stdout  # fmt: skip
    return json.loads(out)[0]


def test_lossy_and_other_exports_of_a_16_bit_document_are_8_bit(tmp_path):
    photo, meta = load_photo(PHOTOS / "adobe-rgb-16.png", depth16=True)
    export_merged(Document.from_image(photo, metadata=meta), tmp_path / "out.webp", quality=100)
    assert depth_and_channels(tmp_path / "out.webp").startswith("8 ")
    assert np.abs(load_rgb(tmp_path / "out.webp").astype(int) - to_8bit(photo)).mean() < 3


def test_an_8_bit_format_gets_the_nearest_8_bit_values(tmp_path):
    photo = load_photo(PHOTOS / "adobe-rgb-16.png", depth16=True)[0]
    save_image_atomic(photo, tmp_path / "out.bmp")  # what `gencurve edit 16-bit.png -o out.bmp` writes
    assert np.array_equal(load_rgb(tmp_path / "out.bmp"), to_8bit(photo))


def deep_document(photo: np.ndarray) -> Document:
    """The 16-bit photo under an 8-bit layer that covers only the middle, half transparent there."""
    doc = Document.from_image(photo)
    top = np.zeros(photo.shape[:2] + (4,), np.uint8)
    top[20:40, 30:60] = (200, 40, 10, 128)
    doc.layers.append(Layer("paint", top))
    return doc


def test_the_16_bit_composite_keeps_the_photo_where_the_layers_above_are_transparent():
    photo = load_photo(PHOTOS / "prophoto-rgb-16.tif", depth16=True)[0]
    merged = deep_document(photo).composite(depth=16)
    outside = np.ones(photo.shape[:2], bool)
    outside[20:40, 30:60] = False
    assert merged.dtype == np.uint16 and np.array_equal(merged[outside], photo[outside])
    assert not np.array_equal(merged[~outside], photo[~outside])
    assert np.array_equal(Document.from_image(photo).composite(alpha=True, depth=16)[..., :3], photo)


def test_an_8_bit_edit_layer_gets_the_16_bit_photo_where_it_left_the_picture_alone():
    photo = load_photo(PHOTOS / "adobe-rgb-16.png", depth16=True)[0]
    doc = Document.from_image(photo)
    edited = doc.composite()  # what an edit sees: the 8-bit composite
    edited[10:30, 10:40] = (0, 255, 0)
    layer = Layer.from_rgb("edit", edited)
    AddEdit(layer, EditRecord({"task": "remove"}, np.zeros(photo.shape[:2], bool))).apply(doc)
    out = doc.composite(depth=16)
    outside = np.ones(photo.shape[:2], bool)
    outside[10:30, 10:40] = False
    assert np.array_equal(out[outside], photo[outside])
    assert (out[~outside] == (0, 65535, 0)).all()
    assert np.array_equal(doc.layers[-1].copy().deep, layer.deep) and np.array_equal(to_8bit(layer.deep), layer.pixels)


def test_deepen_keeps_only_unchanged_pixels():
    under = np.array([[[1000, 2000, 3000], [65535, 0, 40000]]], np.uint16)
    pixels = to_8bit(under).copy()
    pixels[0, 1, 2] += 1
    assert deepen(pixels, under).tolist() == [[[1000, 2000, 3000], [65535, 0, int(pixels[0, 1, 2]) * 257]]]


def test_the_project_keeps_the_16_bit_layer_exactly(tmp_path):
    photo, meta = load_photo(PHOTOS / "prophoto-rgb-16.tif", depth16=True)
    doc = deep_document(photo)
    doc.metadata = meta
    save_ora(doc, tmp_path / "p.ora")
    again = load_ora(tmp_path / "p.ora")
    assert np.array_equal(again.layers[0].deep[..., :3], photo) and (again.layers[0].deep[..., 3] == 65535).all()
    assert again.layers[1].deep is None and np.array_equal(again.layers[1].pixels, doc.layers[1].pixels)
    assert np.array_equal(again.composite(depth=16), doc.composite(depth=16))
    assert again.metadata.icc_profile == meta.icc_profile
    with zipfile.ZipFile(tmp_path / "p.ora") as zf:
        bottom = next(n for n in zf.namelist() if n.startswith("data/layer-000"))
        (tmp_path / "bottom.png").write_bytes(zf.read(bottom))
        (tmp_path / "merged.png").write_bytes(zf.read("mergedimage.png"))
    with Image.open(tmp_path / "bottom.png") as im:
        assert im.info["icc_profile"] == meta.icc_profile  # the profile in every layer, as at 8 bits
    assert depth_and_channels(tmp_path / "bottom.png") == "16 srgba"
    assert depth_and_channels(tmp_path / "merged.png").startswith("8 ")  # mergedimage.png stays 8-bit


def test_a_project_of_16_bit_layers_over_the_memory_budget_is_refused(tmp_path, monkeypatch):
    photo = np.zeros((512, 512, 3), np.uint16)
    doc = Document.from_image(photo)
    doc.layers.append(Layer.from_rgb("copy", photo))
    save_ora(doc, tmp_path / "p.ora")
    monkeypatch.setenv("GENCURVE_MAX_DOCUMENT_MB", "4")  # two 8-bit layers fit (2 MiB), two 16-bit ones do not
    with pytest.raises(BadInputError, match="16-bit"):
        load_ora(tmp_path / "p.ora")


def huge_16_bit_png() -> bytes:
    """A real 16-bit PNG (ImageMagick's) whose header then claims 20000 x 20000 pixels (400 MP, 3.2 GB decoded)."""
    data = (PHOTOS / "adobe-rgb-16.png").read_bytes()
    ihdr = bytearray(data[12:29])  # type, width, height, depth, ...
    ihdr[4:12] = struct.pack(">II", 20000, 20000)
    return data[:12] + bytes(ihdr) + struct.pack(">I", zlib.crc32(bytes(ihdr))) + data[33:]


def test_a_hostile_16_bit_photo_is_refused_before_decoding(tmp_path):
    path = tmp_path / "bomb.png"
    path.write_bytes(huge_16_bit_png())
    with pytest.raises(BadInputError, match="too large"):
        load_photo(path, depth16=True)


def test_a_hostile_16_bit_layer_is_refused_before_decoding(tmp_path):
    save_ora(Document.from_image(np.zeros((8, 8, 3), np.uint16)), tmp_path / "p.ora")
    buf = io.BytesIO()
    with zipfile.ZipFile(tmp_path / "p.ora") as src, zipfile.ZipFile(buf, "w") as dst:
        for info in src.infolist():
            layer = info.filename.startswith("data/layer-")
            dst.writestr(info, huge_16_bit_png() if layer else src.read(info), compress_type=info.compress_type)
    (tmp_path / "bomb.ora").write_bytes(buf.getvalue())
    with pytest.raises(BadInputError, match="too large"):
        load_ora(tmp_path / "bomb.ora")


def test_an_opaque_8_bit_layer_over_a_16_bit_one_hides_it_at_16_bits_too():
    photo = load_photo(PHOTOS / "adobe-rgb-16.png", depth16=True)[0]
    doc = Document.from_image(photo)
    doc.layers.append(Layer.from_rgb("flat", np.full(photo.shape, 7, np.uint8)))
    assert (doc.composite(depth=16) == 7 * 257).all() and (doc.composite() == 7).all()


@pytest.mark.parametrize("factor", [1.0, 0.7])
def test_a_moved_or_scaled_16_bit_layer_keeps_its_8_bit_pixels_the_nearest_values(factor):
    from gencurve_desktop.document.layer_transforms import TransformLayer

    photo = load_photo(PHOTOS / "adobe-rgb-16.png", depth16=True)[0]
    doc = Document.from_image(photo)
    change = TransformLayer(doc.layers[0].id, dx=5, dy=-3, factor=factor)
    change.apply(doc)
    layer = doc.layers[0]
    assert layer.deep[32, 48, 3] == 65535 and np.array_equal(layer.pixels, to_8bit(layer.deep))
    change.revert(doc)
    assert np.array_equal(layer.deep[..., :3], photo) and np.array_equal(layer.pixels, to_8bit(layer.deep))


def test_16_bit_grey_values_are_still_written_by_pillow(tmp_path):
    values = np.arange(64 * 96, dtype=np.uint16).reshape(64, 96) * 10  # what Export Saliency Map writes as TIFF
    save_image_atomic(values, tmp_path / "map.tif")
    assert np.array_equal(opencv(tmp_path / "map.tif"), values)
    assert depth_and_channels(tmp_path / "map.tif") == "16 gray"
