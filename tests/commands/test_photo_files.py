"""Photo files made by tools we did not write (tests/data/photos/, scripts/make_photo_fixtures.sh: ImageMagick,
exiftool, heif-enc, avifenc) open, edit with the demo model through the real ``gencurve edit``, and export keeping
their colour profile, EXIF (orientation 1 after it is applied), XMP and DPI; the outputs are read back with Pillow /
LittleCMS and, where installed, with exiftool and ImageMagick's identify; pixels outside the mask stay bit-identical
in lossless outputs."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gencurve_desktop.cli.main import main
from gencurve_desktop.document.images import load_photo
from gencurve_desktop.document.metadata import profile_description
from gencurve_desktop.engine.masks import feather_alpha

PHOTOS = Path(__file__).parents[1] / "data" / "photos"
#: file -> the profile its maker embedded
FILES = {
    "adobe-rgb-rotated.jpg": "Adobe RGB (1998)",
    "adobe-rgb.png": "Adobe RGB (1998)",
    "prophoto-rgb.tif": "ProPhoto RGB",
    "adobe-rgb.heic": "Adobe RGB (1998)",
    "adobe-rgb.avif": "Adobe RGB (1998)",
}
EDIT = ["--task", "saliency-down", "--model", "demo", "--device", "cpu", "--iterations", "1", "--steps", "3"]
FEATHER = 8  # the default --feather


def mask_for(rgb: np.ndarray, path: Path) -> np.ndarray:
    m = np.zeros(rgb.shape[:2], bool)
    h, w = m.shape
    m[h // 4 : h // 2, w // 4 : w // 2] = True
    Image.fromarray(m.astype(np.uint8) * 255).save(path)
    return m


def run_edit(src: Path, mask: Path, out: Path, *extra: str) -> None:
    code = main(["edit", str(src), "--mask", str(mask), "-o", str(out), *EDIT, *extra])
    assert code == 0 and out.exists()


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    """Each photo edited once, to its own format, with the project (.ora, lossless layers) beside it."""
    rows = {}
    for name in FILES:
        d = tmp_path_factory.mktemp(Path(name).stem)
        rgb, meta = load_photo(PHOTOS / name)
        mask = mask_for(rgb, d / "mask.png")
        own = d / f"out{Path(name).suffix}"
        run_edit(PHOTOS / name, d / "mask.png", own, "--project", str(d / "edit.ora"))
        rows[name] = {"rgb": rgb, "meta": meta, "mask": mask, "own": own, "ora": d / "edit.ora"}
    return rows


def x_resolution(exif_bytes: bytes) -> float:
    exif = Image.Exif()
    exif.load(exif_bytes)
    return float(exif.get(0x011A))


@pytest.mark.parametrize("name", FILES)
def test_the_photo_opens_with_its_profile_exif_and_xmp(name):
    rgb, meta = load_photo(PHOTOS / name)
    assert rgb.shape == (64, 96, 3)  # the JPEG is stored 64 x 96, rotated by its EXIF orientation
    assert FILES[name] in profile_description(meta.icc_profile)
    assert meta.exif is not None and b"TestCam" in meta.exif
    assert meta.xmp is not None and b"Harbour" in meta.xmp
    exif = Image.Exif()
    exif.load(meta.exif)
    assert exif.get(0x0112, 1) == 1  # the rotation is in the pixels now


def test_the_rotated_jpeg_shows_the_same_picture_as_the_png():
    rotated, _ = load_photo(PHOTOS / "adobe-rgb-rotated.jpg")
    upright, _ = load_photo(PHOTOS / "adobe-rgb.png")
    assert np.abs(rotated.astype(int) - upright.astype(int)).mean() < 6  # JPEG at quality 95


@pytest.mark.slow  # five real edits (about 25 s): the slow suite
@pytest.mark.parametrize("name", FILES)
def test_edit_outputs_keep_profile_exif_xmp_and_the_pixels_outside_the_mask(outputs, name):
    from gencurve_desktop.document.ora import load_ora

    row = outputs[name]
    untouched = feather_alpha(row["mask"], FEATHER) == 0
    edit_layer = load_ora(row["ora"]).layers[-1].pixels[..., :3]  # the edit, as written losslessly
    assert np.array_equal(edit_layer[untouched], row["rgb"][untouched])  # bit-identical outside the feather
    assert not np.array_equal(edit_layer[row["mask"]], row["rgb"][row["mask"]])  # and the edit did something
    if Path(name).suffix in (".png", ".tif"):  # lossless outputs: the exported file too
        assert np.array_equal(load_photo(row["own"])[0][untouched], row["rgb"][untouched])
    rgb, meta = load_photo(row["own"])
    assert meta.icc_profile == row["meta"].icc_profile
    assert b"TestCam" in meta.exif and b"Harbour" in meta.xmp
    assert x_resolution(meta.exif) == x_resolution(row["meta"].exif) and meta.dpi == pytest.approx(row["meta"].dpi)


@pytest.mark.slow  # five real edits (about 25 s): the slow suite
def test_the_project_keeps_the_profile_in_every_layer_and_the_metadata_in_mergedimage(outputs, tmp_path, capsys):
    import zipfile

    from gencurve_desktop.document.ora import load_ora

    row = outputs["adobe-rgb.png"]
    with zipfile.ZipFile(row["ora"]) as zf:
        pngs = [n for n in zf.namelist() if n.startswith("data/layer")] + ["mergedimage.png"]
        for entry in pngs:
            with Image.open(zf.open(entry)) as im:
                assert im.info.get("icc_profile") == row["meta"].icc_profile, entry
    doc = load_ora(row["ora"])
    assert doc.metadata.icc_profile == row["meta"].icc_profile and b"Harbour" in doc.metadata.xmp
    assert main(["project", "export", str(row["ora"]), "-o", str(tmp_path / "again.jpg"), "--quality", "90"]) == 0
    again = load_photo(tmp_path / "again.jpg")[1]
    assert again.icc_profile == row["meta"].icc_profile and b"TestCam" in again.exif


@pytest.mark.slow  # five real edits (about 25 s): the slow suite
def test_jpeg_export_is_quality_95_with_full_chroma_by_default(outputs, tmp_path):
    from PIL import JpegImagePlugin

    reference = tmp_path / "q95.jpg"
    Image.new("RGB", (16, 16)).save(reference, quality=95, subsampling=0)
    with Image.open(outputs["adobe-rgb-rotated.jpg"]["own"]) as im, Image.open(reference) as ref:
        assert JpegImagePlugin.get_sampling(im) == 0  # 4:4:4
        assert im.quantization == ref.quantization  # quality 95's tables


def test_an_impossible_quality_is_refused_before_any_work(tmp_path, capsys):
    mask_for(np.zeros((64, 96, 3), np.uint8), tmp_path / "mask.png")
    out = tmp_path / "out.jpg"
    code = main(["edit", str(PHOTOS / "adobe-rgb.png"), "--mask", str(tmp_path / "mask.png"), "-o", str(out), *EDIT,
                 "--quality", "101"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and not out.exists() and "--quality must be in 1..100" in err


# --- read back by the tools themselves -------------------------------------------------------------------------


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (scripts/make_photo_fixtures.sh names the packages)")
    return found


@pytest.mark.slow  # five real edits (about 25 s): the slow suite
@pytest.mark.parametrize("name", FILES)
def test_exiftool_reads_the_profile_exif_and_xmp_of_every_output(outputs, name):
    exiftool = _tool("exiftool")
    row = outputs[name]
    for path in (row["own"],):
        tags = json.loads(subprocess.run([exiftool, "-j", "-lang", "en", "-Make", "-Model", "-Title", "-Orientation",
                                          "-ProfileDescription", "-XResolution", str(path)], capture_output=True,
                                         text=True, check=True).stdout)[0]  # fmt: skip
        assert tags["Make"] == "TestCam" and tags["Title"] == "Harbour", (path, tags)
        assert tags.get("XResolution") == (300 if "heic" not in name else 72), (path, tags)
        assert FILES[name] in tags["ProfileDescription"], (path, tags)
        assert tags.get("Orientation", "Horizontal (normal)") == "Horizontal (normal)", (path, tags)


@pytest.mark.slow  # five real edits (about 25 s): the slow suite
@pytest.mark.parametrize("name", ["adobe-rgb-rotated.jpg", "adobe-rgb.png", "prophoto-rgb.tif"])
def test_identify_reads_the_profile_and_resolution(outputs, name):
    identify = _tool("identify")
    row = outputs[name]
    verbose = subprocess.run([identify, "-verbose", str(row["own"])], capture_output=True, text=True, check=True).stdout
    assert "Profile-icc" in verbose and FILES[name] in verbose
    if name != "adobe-rgb.png":  # exiftool put the PNG's resolution in its EXIF only (no pHYs chunk to keep)
        assert "Resolution: 300x300" in verbose
