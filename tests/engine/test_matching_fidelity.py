"""Curve matching's machinery: checkpointing against full backprop, the sampler's draws, the linearised label, and
the localised modification. The loss and gradient themselves are held to an independent reference in
test_matching_reference.py."""

import numpy as np
import pytest
import torch

from gencurve_desktop.engine import ddim, latents
from gencurve_desktop.engine.framing import frame_for
from gencurve_desktop.engine.gradient_check import gradient_agreement
from gencurve_desktop.engine.matching import generate_blended, run_edit, sampling_weights
from gencurve_desktop.engine.requests import EditParams, EditRequest


@pytest.fixture
def mask(sample_rgb):
    m = np.zeros(sample_rgb.shape[:2], bool)
    m[40:80, 40:88] = True
    return m


def test_checkpointed_gradient_equals_full_backprop_and_the_shortcut_does_not(demo_model, sample_rgb, mask):
    """The checkpointed chain against the engine's own un-checkpointed one (what ``bench --parts gradient``
    reports); the method itself is held to an independent reference in test_matching_reference.py."""
    request = EditRequest("saliency-up", sample_rgb, mask, None, EditParams(steps=10))
    report = gradient_agreement(demo_model, request, samples=4)
    assert report["backprop"]["cosine_min"] >= 0.95
    assert abs(report["backprop"]["norm_ratio_median"] - 1) < 0.05
    assert report["linearised"]["cosine_mean"] < report["backprop"]["cosine_min"]  # the shortcut points elsewhere


def test_linearised_loss_is_labelled_an_estimate(demo_model, sample_rgb, mask):
    params = EditParams(iterations=3, steps=6, gradient="linearised")
    result = run_edit(demo_model, EditRequest("remove", sample_rgb, mask, None, params))
    assert result.loss_kind == "linearised estimate"


def test_t_sampling_follows_the_paper():
    curve = np.linspace(1.0, 2.0, 10)
    timesteps = np.arange(900, -1, -100)
    for task, has_ref in (("transfer", True), ("remove", True)):
        w = sampling_weights(task, has_ref, curve, timesteps, 500)
        assert (w[timesteps < 500] > 0).all()  # every t, in proportion to the source curve
        assert torch.allclose(w / w.sum(), torch.from_numpy(curve / curve.sum()))
    for task, has_ref in (("remove", False), ("saliency-up", False), ("blend", False)):
        w = sampling_weights(task, has_ref, curve, timesteps, 500)
        assert (w[timesteps < 500] == 0).all() and (w[timesteps >= 500] > 0).all()


def test_the_sampler_draws_cells_in_omega_and_t_above_t_min_for_the_pseudo_curve(demo_model, sample_rgb, mask):
    """What the edit actually drew (its progress events), not the weights helper: p in Ω, t >= t_min."""
    events = []
    params = EditParams(iterations=12, steps=8, t_min=500, refresh_every=6, gradient="linearised")
    run_edit(demo_model, EditRequest("remove", sample_rgb, mask, None, params), events.append)
    ts = ddim.make_schedule(demo_model, 8).timesteps.numpy()
    omega = frame_for((128, 128)).latent_mask(mask)
    drawn = [ev.sample for ev in events if ev.phase == "iterations"]
    assert len(drawn) == 12
    assert all(omega[cell] and ts[n] >= 500 for cell, _, n in drawn)
    assert len({channel for _, channel, _ in drawn}) > 1 and len({cell for cell, _, _ in drawn}) > 1


def test_transfer_samples_timesteps_below_t_min(demo_model, sample_rgb, mask):
    events = []
    params = EditParams(iterations=12, steps=10, t_min=600, refresh_every=6)
    run_edit(demo_model, EditRequest("transfer", sample_rgb, mask, (10, 100), params), events.append)
    ts = ddim.make_schedule(demo_model, 10).timesteps.numpy()
    assert any(ts[ev.sample[2]] < 600 for ev in events if ev.phase == "iterations")


def test_outside_omega_the_trajectory_is_the_original_above_t_blend(demo_model, sample_rgb, mask):
    framing = frame_for((128, 128))
    schedule = ddim.make_schedule(demo_model, 10)
    inversion = ddim.invert(demo_model, latents.encode_image(demo_model, framing.frame_image(sample_rgb)), schedule)
    omega = torch.from_numpy(framing.latent_mask(mask).astype(np.float32))[None, None]
    x_T = inversion.latents[0:1] + torch.randn(inversion.latents[0:1].shape, generator=torch.Generator().manual_seed(0))
    traj, _ = generate_blended(demo_model, x_T, inversion.latents, omega, schedule, 500)
    outside = omega[0, 0] == 0
    for n, t in enumerate(schedule.timesteps.tolist()):
        same = torch.equal(traj[n][:, outside], inversion.latents[n][:, outside])
        assert same == (t >= 500), (n, t)
