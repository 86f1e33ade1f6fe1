import numpy as np
import pytest

from gencurve_desktop.engine.framing import frame_for
from gencurve_desktop.errors import BadInputError


def test_multiple_of_64_is_unchanged():
    fr = frame_for((512, 384))
    assert fr.scaled == fr.working == (512, 384)
    img = np.random.default_rng(0).integers(0, 255, (384, 512, 3), dtype=np.uint8)
    assert np.array_equal(fr.frame_image(img), img)
    assert fr.latent_shape == (48, 64)


@pytest.mark.parametrize("size", [(451, 300), (100, 37), (65, 64), (7, 9)])
def test_other_sizes_are_padded_and_map_back(size):
    fr = frame_for(size)
    assert fr.scaled == size
    assert fr.working[0] % 64 == 0 and fr.working[1] % 64 == 0
    img = np.random.default_rng(1).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    framed = fr.frame_image(img)
    assert framed.shape == (fr.working[1], fr.working[0], 3)
    assert np.array_equal(framed[: size[1], : size[0]], img)  # pixels kept 1:1
    assert np.array_equal(fr.unframe(framed), img)
    assert fr.to_latent_cell(size[0] - 1, size[1] - 1) == ((size[1] - 1) // 8, (size[0] - 1) // 8)


def test_large_images_are_downscaled():
    fr = frame_for((4000, 3000), max_side=1024)
    assert fr.scaled == (1024, 768) and fr.working == (1024, 768)
    assert fr.to_latent_cell(3999, 2999) == (95, 127)


def test_outside_pixel_rejected():
    with pytest.raises(BadInputError, match="outside"):
        frame_for((64, 64)).to_latent_cell(64, 3)


def test_latent_mask_any_pixel():
    fr = frame_for((64, 64))
    m = np.zeros((64, 64), bool)
    m[9, 17] = True
    lm = fr.latent_mask(m)
    assert lm.sum() == 1 and lm[1, 2]
