"""``gencurve edit`` on 16-bit photos ImageMagick and exiftool made (tests/data/photos/*-16.*): the PNG and TIFF
outputs are 16-bit (``identify``), keep the profile, EXIF and XMP (exiftool), and outside the mask's feather equal
the input's 16-bit samples bit for bit (read back by OpenCV and by ImageMagick); the project keeps both layers at
16 bits. Two demo-model edits, about 8 s."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from gencurve_desktop.cli.main import main
from gencurve_desktop.engine.masks import feather_alpha

PHOTOS = Path(__file__).parents[1] / "data" / "photos"
EDIT = ["--task", "saliency-down", "--model", "demo", "--device", "cpu", "--iterations", "1", "--steps", "3"]
FEATHER = 8  # the default --feather
#: input -> (output, the profile its maker embedded)
FILES = {"adobe-rgb-16.png": ("out.png", "Adobe RGB (1998)"), "prophoto-rgb-16.tif": ("out.tif", "ProPhoto RGB")}


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (scripts/make_photo_fixtures.sh names the packages)")
    return found


def samples(path: Path) -> np.ndarray:
    """The file's own samples, as OpenCV reads them (BGR order, unchanged depth)."""
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)


@pytest.fixture(scope="module")
def edited(tmp_path_factory):
    """Each 16-bit photo edited once, to its own format, with a project beside it."""
    rows = {}
    for name, (output, _) in FILES.items():
        d = tmp_path_factory.mktemp(Path(name).stem)
        mask = np.zeros((64, 96), bool)
        mask[16:32, 24:48] = True
        Image.fromarray(mask.astype(np.uint8) * 255).save(d / "mask.png")
        out, ora = d / output, d / "edit.ora"
        code = main(["edit", str(PHOTOS / name), "--mask", str(d / "mask.png"), "-o", str(out), "--project", str(ora),
                     *EDIT])  # fmt: skip
        assert code == 0 and out.exists()
        rows[name] = {"out": out, "ora": ora, "mask": mask, "untouched": feather_alpha(mask, FEATHER) == 0}
    return rows


@pytest.mark.parametrize("name", FILES)
def test_the_output_is_16_bit_and_bit_exact_outside_the_mask(edited, name):
    row = edited[name]
    photo, out = samples(PHOTOS / name), samples(row["out"])
    assert photo.dtype == out.dtype == np.uint16 and out.shape == photo.shape
    untouched = row["untouched"]
    assert np.array_equal(out[untouched], photo[untouched])  # the photo's own 16-bit values
    assert not np.array_equal(out[row["mask"]], photo[row["mask"]])  # and the edit did something


@pytest.mark.parametrize("name", FILES)
def test_imagemagick_reads_a_16_bit_output_equal_to_the_input_outside_the_mask(edited, name):
    identify, convert = tool("identify"), tool("convert")
    row = edited[name]
    depth = subprocess.check_output([identify, "-format", "%z %[channels]", str(row["out"])], text=True)
    assert depth.strip() == "16 srgb"

    def raw(path: Path) -> np.ndarray:
        data = subprocess.run([convert, str(path), "-depth", "16", "-endian", "MSB", "rgb:-"], capture_output=True,
                              check=True).stdout  # fmt: skip
        return np.frombuffer(data, ">u2").reshape(64, 96, 3)

    assert np.array_equal(raw(row["out"])[row["untouched"]], raw(PHOTOS / name)[row["untouched"]])


@pytest.mark.parametrize("name", FILES)
def test_exiftool_reads_the_profile_exif_and_xmp_of_the_16_bit_output(edited, name):
    asked = ["-Make", "-Model", "-Title", "-ProfileDescription", "-XResolution", "-BitsPerSample", "-BitDepth"]
    out = subprocess.run([tool("exiftool"), "-j", "-lang", "en", *asked, str(edited[name]["out"])],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    tags = json.loads(out)[0]
    assert tags["Make"] == "TestCam" and tags["Model"] == "GC One" and tags["Title"] == "Harbour", tags
    assert FILES[name][1] in tags["ProfileDescription"] and tags["XResolution"] == 300, tags
    assert str(tags.get("BitsPerSample", tags.get("BitDepth"))).startswith("16"), tags  # TIFF's tag, PNG's IHDR


def test_the_project_keeps_the_original_and_the_edit_at_16_bits(edited):
    from gencurve_desktop.document.ora import load_ora

    row = edited["adobe-rgb-16.png"]
    doc = load_ora(row["ora"])
    original, edit = doc.layers
    photo = samples(PHOTOS / "adobe-rgb-16.png")[..., ::-1]
    assert np.array_equal(original.deep[..., :3], photo)
    assert np.array_equal(edit.deep[..., :3], samples(row["out"])[..., ::-1])  # the layer is the output
    assert np.array_equal(doc.composite(depth=16), edit.deep[..., :3])


def test_project_export_writes_the_16_bit_picture_again(edited, tmp_path):
    row = edited["adobe-rgb-16.png"]
    assert main(["project", "export", str(row["ora"]), "-o", str(tmp_path / "again.tif")]) == 0
    assert np.array_equal(samples(tmp_path / "again.tif"), samples(row["out"]))
