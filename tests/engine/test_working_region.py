"""Crop-to-mask (issue 22): the window an edit works on, and an edit in it pasted back into the photo."""

from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from gencurve_desktop.engine.masks import feather_alpha
from gencurve_desktop.engine.matching import run_edit
from gencurve_desktop.engine.requests import EditParams, EditRequest
from gencurve_desktop.engine.working_region import Window, choose_window, native_side
from gencurve_desktop.paths import sample_image

FAST = EditParams(iterations=3, steps=6, refresh_every=3)


def _mask(h, w, y0, y1, x0, x1):
    m = np.zeros((h, w), bool)
    m[y0:y1, x0:x1] = True
    return m


def test_a_small_mask_on_a_big_photo_gets_a_native_sized_window_around_it():
    mask = _mask(4000, 6000, 1800, 2100, 3000, 3300)  # a 300 x 300 mask on a 24 MP photo
    win = choose_window((6000, 4000), mask, None, "auto", 512, 8)
    assert (win.x1 - win.x0, win.y1 - win.y0) == (512, 512)
    assert win.x0 <= 3000 - 32 and win.x1 >= 3300 + 32 and win.y0 <= 1800 - 32 and win.y1 >= 2100 + 32
    assert win.x0 % 1 == 0 and 0 <= win.x0 and win.x1 <= 6000


def test_the_window_holds_the_reference_and_grows_past_native_for_a_big_mask():
    mask = _mask(4000, 6000, 1800, 1900, 3000, 3100)
    win = choose_window((6000, 4000), mask, (4000, 2500), "crop", 512, 8)
    assert win.x0 <= 3000 and win.x1 > 4000 and win.y1 > 2500  # the reference's curve comes from this window
    assert (win.x1 - win.x0) % 64 == 0 and (win.y1 - win.y0) % 64 == 0
    big = choose_window((6000, 4000), _mask(4000, 6000, 500, 2500, 1000, 3000), None, "crop", 512, 8)
    assert big.x1 - big.x0 >= 2000 + 2 * 32 and big.y1 - big.y0 >= 2000 + 2 * 32


def test_whole_and_small_photos_are_framed_whole():
    mask = _mask(400, 600, 100, 200, 100, 200)
    assert choose_window((600, 400), mask, None, "whole", 512, 8) is None
    assert choose_window((500, 400), mask[:, :500], None, "auto", 512, 8) is None  # not larger than native
    assert choose_window((600, 400), mask, None, "auto", 512, 8) is not None


def test_native_side_is_the_unets_sample_size_times_8(demo_model):
    assert native_side(demo_model) == demo_model.unet.config.sample_size * 8 == 512


@pytest.fixture(scope="module")
def big_photo():
    """A photo larger than the model below's native size (128 px), at a size CPU tests can afford."""
    return np.asarray(Image.open(sample_image()).convert("RGB").resize((384, 288), Image.LANCZOS))


@pytest.fixture(scope="module")
def small_native():
    """The demo model declaring a 128-px native size (``sample_size`` 16): its U-Net is convolutional and runs
    at any size, and the window logic reads only the declared size."""
    from gencurve_desktop.engine.models import load_model

    model = load_model("demo", device="cpu")
    model.unet.register_to_config(sample_size=16)
    return model


@pytest.mark.parametrize("task, ref", [("transfer", (340, 40)), ("remove", "auto")])
def test_a_crop_edit_is_the_same_edit_on_the_window_pasted_back(small_native, big_photo, task, ref):
    """Run in the window at native size, then pasted: identical to editing the window's pixels directly, and
    every pixel outside the window (and outside the feather) is the photo's."""
    mask = _mask(288, 384, 130, 170, 150, 200)
    events = []
    params = EditParams(iterations=3, steps=6, refresh_every=3, preview_every=3)
    result = run_edit(small_native, EditRequest(task, big_photo, mask, ref, params), events.append)
    x0, y0, x1, y1 = result.params["window"]
    win = Window(x0, y0, x1, y1)
    assert min(x1 - x0, y1 - y0) >= 128 and (x1 - x0) % 64 == 0 and result.params["region"] == "auto"
    assert (x1 - x0, y1 - y0) == ((320, 256) if task == "transfer" else (128, 128))  # transfer: the reference too
    inner_ref = win.to_window(*ref) if isinstance(ref, tuple) else ref
    at_native = replace(params, max_side=128, region="whole")  # a window larger than native is framed down to it
    direct = run_edit(small_native, EditRequest(task, win.crop(big_photo), win.crop(mask), inner_ref, at_native))
    assert np.array_equal(result.image, win.paste(big_photo, direct.image))
    outside = feather_alpha(mask, params.feather_px) == 0
    assert np.array_equal(result.image[outside], big_photo[outside])
    assert result.ref == win.to_photo(*direct.ref) and result.mask.shape == mask.shape
    previews = [e.preview for e in events if e.preview is not None]
    assert previews and all(p.shape == big_photo.shape for p in previews)


def test_region_whole_frames_the_whole_photo_and_bad_values_are_refused(small_native, big_photo):
    from gencurve_desktop.errors import BadInputError

    mask = _mask(288, 384, 130, 170, 150, 200)
    whole = run_edit(small_native, EditRequest("saliency-down", big_photo, mask, None, EditParams(
        iterations=1, steps=4, region="whole")))  # fmt: skip
    assert "window" not in whole.params and whole.image.shape == big_photo.shape
    with pytest.raises(BadInputError, match="--region must be one of auto, crop, whole"):
        run_edit(small_native, EditRequest("saliency-down", big_photo, mask, None, EditParams(region="tiles")))
