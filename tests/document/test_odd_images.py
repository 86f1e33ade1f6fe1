"""Every file is either read or refused with the one bad-input error: a generated corpus of formats, modes and
breakages (none written by GenCurve), and the specific failure classes seen in the wild."""

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from gencurve_desktop.document.images import load_mask, load_rgb
from gencurve_desktop.engine.framing import frame_for
from gencurve_desktop.errors import BadInputError

sys.path.insert(0, str(Path(__file__).parent))
from odd_images import make_corpus  # noqa: E402


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_corpus(tmp_path_factory.mktemp("odd"))


def test_every_file_loads_or_is_refused_with_one_error(corpus):
    outcomes = {"read": 0, "refused": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning may escape the readers either
        for path in corpus:
            for reader in (load_rgb, load_mask):
                try:
                    out = reader(path)
                    assert out.dtype in (np.uint8, bool) and out.ndim == (3 if reader is load_rgb else 2)
                    intact = not path.name.startswith(("trunc-", "flip-", "exif-"))
                    if intact and path.suffix not in (".ico", ".icns"):  # icons are stored at icon sizes
                        assert out.shape[:2] == (24, 32), path.name
                    outcomes["read"] += 1
                except BadInputError as e:
                    assert str(path.name) in str(e) and "\n" not in str(e)
                    outcomes["refused"] += 1
    assert len(corpus) > 300 and outcomes["read"] > 200 and outcomes["refused"] > 100


@pytest.mark.parametrize("ext", ["jpg", "webp", "png"])
@pytest.mark.parametrize("name", ["exif-resolution-string", "exif-orientation-string", "exif-huge-count"])
def test_damaged_exif_keeps_the_picture(corpus, name, ext):
    path = next(p for p in corpus if p.name == f"{name}.{ext}")
    shape = load_rgb(path).shape
    assert sorted(shape[:2]) == [24, 32] and shape[2] == 3
    if name == "exif-resolution-string":  # its orientation (6) is valid: still applied
        assert shape[:2] == (32, 24)
    if name == "exif-orientation-string":  # an orientation that is not a number: the picture as stored
        assert shape[:2] == (24, 32)


def test_unimplemented_dds_format_is_refused(corpus):
    path = next(p for p in corpus if p.name == "dds-unknown-fourcc.dds")
    with pytest.raises(BadInputError, match="dds-unknown-fourcc"):
        load_rgb(path)


@pytest.mark.parametrize("mode", ["LAB", "YCbCr", "CMYK", "I_16", "I_16B", "P", "1", "PA"])
def test_colour_modes_read_as_image_and_as_mask(corpus, mode):
    path = next(p for p in corpus if p.name == f"{mode}.tif" or p.name == f"{mode}.png")
    assert load_rgb(path).shape == (24, 32, 3)
    assert load_mask(path).shape == (24, 32)


def test_lab_mask_uses_lightness(tmp_path):
    from PIL import Image

    lab = np.zeros((8, 8, 3), np.uint8)
    lab[:, 4:, 0] = 255  # right half: full lightness
    Image.fromarray(lab, "LAB").save(tmp_path / "m.tif")
    mask = load_mask(tmp_path / "m.tif")
    assert mask[:, 4:].all() and not mask[:, :4].any()


def test_thin_mask_survives_downscaling_any_pixel_counts():
    framing = frame_for((3000, 1500), max_side=1024)  # a 2.9x downscale
    mask = np.zeros((1500, 3000), bool)
    mask[700, 100:2900] = True  # one pixel thin
    mask[100:1400, 1500] = True
    latent = framing.latent_mask(mask)
    assert latent.any()
    rows, cols = np.nonzero(latent)
    assert set(rows) >= {700 * 1024 // 3000 // 8} and len(set(cols)) > 90
