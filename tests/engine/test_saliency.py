"""Fluctuation math and the fast dense estimator against the exact per-pixel reference."""

import numpy as np
import pytest
from scipy.stats import spearmanr

from gencurve_desktop.engine.analysis import invert_image, saliency_map
from gencurve_desktop.engine.saliency import estimated_rate_maps, exact_rate_maps, fluctuation
from gencurve_desktop.errors import BadInputError


def test_fluctuation_is_windowed_variance_above_t_min():
    ts = np.array([900, 700, 500, 300, 100])
    flat = np.array([1.0, 1.0, 1.0, 1.0, 50.0])  # the rise near t=0 is excluded
    zigzag = np.array([0.0, 2.0, 0.0, 2.0, 50.0])
    assert fluctuation(flat, ts, t_min=200, window=2) == 0.0
    assert fluctuation(zigzag, ts, t_min=200, window=2) == pytest.approx(1.0)
    both = fluctuation(np.stack([flat, zigzag]), ts, t_min=200, window=2)
    assert both.tolist() == [0.0, 1.0]
    with pytest.raises(BadInputError, match="t_min"):
        fluctuation(flat, ts, t_min=950)


def test_fast_map_ranks_like_the_exact_map(demo_model, sample_rgb):
    inv = invert_image(demo_model, sample_rgb, steps=8)
    exact = exact_rate_maps(demo_model, inv.trajectory)
    fast = estimated_rate_maps(demo_model, inv.trajectory, probes=64)
    rho = spearmanr(exact.saliency().ravel(), fast.saliency().ravel())[0]
    print(f"rank correlation fast vs exact: {rho:.3f}")
    assert exact.rates.shape == fast.rates.shape == (8, 16, 16)
    assert rho >= 0.9, rho


def test_one_channel_and_upsampled_size(demo_model, sample_rgb):
    rgb = sample_rgb[:100, :72]
    inv = invert_image(demo_model, rgb, steps=6)
    smap = saliency_map(demo_model, inv, channel=2, t_min=100, window=3)
    assert smap.image.shape == (100, 72)
    assert smap.latent.shape == (16, 16)  # padded working canvas 128 x 128
    assert np.isfinite(smap.image).all()
