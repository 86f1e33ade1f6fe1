"""Curve matching held to the paper: the gradient's direction, the true loss, the t sampling, and the
localised modification; each against an independent recomputation."""

import numpy as np
import pytest
import torch

from gencurve_desktop.engine import ddim, latents
from gencurve_desktop.engine.framing import frame_for
from gencurve_desktop.engine.gradient_check import gradient_agreement
from gencurve_desktop.engine.hspace import ad_attention
from gencurve_desktop.engine.matching import generate_blended, run_edit, sampling_weights
from gencurve_desktop.engine.requests import EditParams, EditRequest
from gencurve_desktop.engine.tasks import rate


@pytest.fixture
def mask(sample_rgb):
    m = np.zeros(sample_rgb.shape[:2], bool)
    m[40:80, 40:88] = True
    return m


def test_default_gradient_agrees_with_full_backprop(demo_model, sample_rgb, mask):
    request = EditRequest("saliency-up", sample_rgb, mask, None, EditParams(steps=10))
    report = gradient_agreement(demo_model, request, samples=4)
    assert report["backprop"]["cosine_min"] >= 0.95
    assert abs(report["backprop"]["norm_ratio_median"] - 1) < 0.05
    assert report["linearised"]["cosine_mean"] < report["backprop"]["cosine_min"]  # the shortcut points elsewhere


@pytest.mark.parametrize("task, sign", [("saliency-up", 1), ("saliency-down", -1)])
def test_saliency_edits_move_the_rate_they_optimise_from_the_start(demo_model, sample_rgb, mask, task, sign):
    """The optimiser moves what it optimises: the region's mean rate over t >= t_min on its own latent trajectory
    (``trajectory_figures``; the output image's figures are tested in test_matching.py). A sign error in the loss
    or the gradient fails this."""
    params = EditParams(iterations=40, steps=10)  # the task's other defaults
    result = run_edit(demo_model, EditRequest(task, sample_rgb, mask, None, params))
    keep = np.asarray(result.timesteps) >= params.t_min
    before = float(np.mean(np.asarray(result.trajectory_figures["source_curve_before"])[keep]))
    after = float(np.mean(np.asarray(result.trajectory_figures["source_curve_after"])[keep]))
    assert sign * (after - before) > 0, (before, after)
    assert result.loss_kind == "true" and result.curve_distance_before is None  # no reference curve here


def test_logged_loss_is_the_true_loss(demo_model, sample_rgb, mask):
    """Each logged loss equals the pseudo-curve loss recomputed at the true x_t of the x_T it was taken at."""
    params = EditParams(iterations=6, steps=8, refresh_every=5, t_blend=1000)  # no blend: x_t from x_T alone
    events = []
    result = run_edit(demo_model, EditRequest("remove", sample_rgb, mask, None, params), events.append)
    schedule = ddim.make_schedule(demo_model, 8)
    steps = [ev for ev in events if ev.phase == "iterations"]
    assert len(steps) == len(result.loss) == 6
    for ev, logged in zip(steps, result.loss):
        (cell, channel, n) = ev.sample
        x = ev.x_T
        with torch.no_grad():
            for m in range(n):
                x = ddim.generate_step(demo_model, x, schedule, m)
        with ad_attention():
            true = float(rate(demo_model, x, schedule.timesteps[n : n + 1], cell, channel))
        assert logged == pytest.approx(true, rel=1e-4, abs=1e-6)


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
