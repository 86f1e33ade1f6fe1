"""Curve matching: curves move towards the reference, determinism, cancel, errors, untouched outside."""

import numpy as np
import pytest
import torch

from gencurve_desktop.engine.cancel import CancelToken
from gencurve_desktop.engine.masks import feather_alpha
from gencurve_desktop.engine.matching import run_edit
from gencurve_desktop.engine.requests import EditParams, EditRequest
from gencurve_desktop.errors import BadInputError, CancelledError, EditFailedError, OutOfMemoryError

FAST = EditParams(iterations=6, steps=6, refresh_every=3)


@pytest.fixture
def mask(sample_rgb):
    m = np.zeros(sample_rgb.shape[:2], bool)
    m[40:80, 40:88] = True
    return m


@pytest.mark.parametrize("task, ref", [("transfer", (10, 100)), ("remove", (120, 5))])  # two corners, two tasks
def test_the_optimiser_lowers_the_curve_distance_on_its_trajectory(demo_model, sample_rgb, mask, task, ref):
    """What the optimiser sees (its own latent trajectory): the distance falls. On random weights the output
    image, inverted afresh, need not follow; that is tested on mini (test_mini_model.py)."""
    params = EditParams(iterations=30, steps=10)
    result = run_edit(demo_model, EditRequest(task, sample_rgb, mask, ref, params))
    assert result.iterations == len(result.loss) == 30
    moved = result.trajectory_figures
    assert moved["curve_distance_after"] < moved["curve_distance_before"]


def test_pseudo_curve_remove_lowers_rates_on_the_optimisers_trajectory(demo_model, sample_rgb, mask):
    result = run_edit(demo_model, EditRequest("remove", sample_rgb, mask, None, EditParams(iterations=30, steps=10)))
    assert result.reference_curve_before is None
    moved = result.trajectory_figures
    assert moved["curve_distance_after"] < moved["curve_distance_before"]


@pytest.mark.parametrize("task, ref", [("saliency-up", None), ("transfer", (10, 100)), ("remove", None)])
def test_a_planted_no_op_edit_reports_no_change(demo_model, sample_rgb, mask, monkeypatch, task, ref):
    """The edit's pixels are thrown away (its output is its input): every after-figure must equal its
    before-figure, although the optimiser's own trajectory moved (the figures are measured on the images)."""
    import gencurve_desktop.engine.matching as matching

    monkeypatch.setattr(matching, "_finish", lambda model, z0, framing, original, region, feather: original.copy())
    result = run_edit(demo_model, EditRequest(task, sample_rgb, mask, ref, FAST))
    assert np.array_equal(result.image, sample_rgb)
    assert result.fluctuation_after == result.fluctuation_before
    assert result.curve_distance_after == result.curve_distance_before
    assert result.source_curve_after == result.source_curve_before
    moved = result.trajectory_figures
    assert moved["fluctuation_after"] != moved["fluctuation_before"]  # what the old report would have shown


def test_after_figures_are_a_fresh_measurement_of_the_output(demo_model, sample_rgb, mask):
    """Recomputed here from the output alone: encoded and inverted by the plain DDIM code, the curves of the
    report's cells (the engine's cell choice, s and 7 more) averaged: the result's after-figures exactly."""
    from gencurve_desktop.engine import ddim, latents
    from gencurve_desktop.engine.curves import cell_channel_rates
    from gencurve_desktop.engine.framing import frame_for
    from gencurve_desktop.engine.matching import _central_cell, _without, spread_cells
    from gencurve_desktop.engine.saliency import fluctuation

    result = run_edit(demo_model, EditRequest("saliency-down", sample_rgb, mask, None, FAST))
    framing = frame_for((sample_rgb.shape[1], sample_rgb.shape[0]), FAST.max_side)
    schedule = ddim.make_schedule(demo_model, FAST.steps)
    traj = ddim.invert(demo_model, latents.encode_image(demo_model, framing.frame_image(result.image)), schedule)
    omega = np.argwhere(framing.latent_mask(mask))
    s = _central_cell(omega)
    cells = [s] + spread_cells(_without(omega, s), 7, FAST.seed)
    curve = cell_channel_rates(demo_model, traj, cells, [0, 1, 2, 3]).mean(axis=(0, 1))
    assert result.measured_cells == len(cells) == 8
    np.testing.assert_allclose(result.source_curve_after, curve, rtol=1e-5)
    t = schedule.timesteps.numpy()
    assert result.fluctuation_after == pytest.approx(float(fluctuation(curve, t, FAST.t_min)), rel=1e-5)
    assert result.fluctuation_after != result.trajectory_figures["fluctuation_after"]


@pytest.mark.parametrize("task", ["transfer", "remove", "saliency-up", "saliency-down", "blend"])
def test_outside_the_feather_is_bit_identical(demo_model, sample_rgb, mask, task):
    image = sample_rgb.copy()
    result = run_edit(demo_model, EditRequest(task, image, mask, (10, 100), FAST))
    assert np.array_equal(image, sample_rgb)  # the input is never modified
    outside = feather_alpha(mask, FAST.feather_px) == 0
    assert np.array_equal(result.image[outside], sample_rgb[outside])
    assert not np.array_equal(result.image[mask], sample_rgb[mask])
    prov = result.provenance()
    assert prov["task"] == task and prov["params"]["seed"] == 0 and prov["model_id"] == "demo"
    assert len(prov["source_curve_before"]) == len(prov["timesteps"]) == 6


def test_same_request_same_output(demo_model, sample_rgb, mask):
    request = EditRequest("transfer", sample_rgb, mask, (10, 100), FAST)
    a, b = run_edit(demo_model, request), run_edit(demo_model, request)
    assert np.array_equal(a.image, b.image) and a.loss == b.loss
    other = run_edit(
        demo_model,
        EditRequest(
            "transfer", sample_rgb, mask, (10, 100), EditParams(iterations=6, steps=6, refresh_every=3, seed=1)
        ),
    )
    assert other.loss != a.loss


def test_progress_every_iteration_with_curves_and_previews(demo_model, sample_rgb, mask):
    events = []
    params = EditParams(iterations=6, steps=6, refresh_every=3, preview_every=3)
    run_edit(demo_model, EditRequest("transfer", sample_rgb, mask, (10, 100), params), events.append)
    phases = [e.phase for e in events]
    assert phases == ["inverting", "curves", "curves"] + ["iterations"] * 6 + ["report", "decoding", "measuring"]
    starting = events[2]  # the starting curves are shown before the "before" report and the first iteration
    assert len(starting.source_curve) == 6 and len(starting.reference_curve) == 6 and starting.iteration == 0
    events = [e for e in events if e.phase == "iterations"]
    assert [e.iteration for e in events] == [1, 2, 3, 4, 5, 6]
    assert all(len(e.source_curve) == 6 and len(e.reference_curve) == 6 for e in events)
    assert [e.preview is not None for e in events] == [False, False, True, False, False, True]
    assert events[2].preview.shape == sample_rgb.shape


@pytest.mark.parametrize("at", [1, 4])
def test_cancel_within_one_iteration(demo_model, sample_rgb, mask, at):
    token = CancelToken()
    seen = []

    def on_progress(ev):
        seen.append(ev.iteration)
        if ev.iteration == at:
            token.cancel()

    with pytest.raises(CancelledError):
        run_edit(demo_model, EditRequest("transfer", sample_rgb, mask, (10, 100), FAST), on_progress, token)
    assert seen[-1] == at


def test_cancel_before_start(demo_model, sample_rgb, mask):
    token = CancelToken()
    token.cancel()
    with pytest.raises(CancelledError):
        run_edit(demo_model, EditRequest("remove", sample_rgb, mask, None, FAST), cancel=token)


@pytest.mark.parametrize(
    "task, mask_kind, ref, message",
    [
        ("remove", "empty", None, "mask is empty"),
        ("remove", "full", None, "whole image"),
        ("remove", "small", None, "mask is 64x64"),
        ("transfer", "ok", (500, 3), "outside"),
        ("transfer", "ok", None, "needs a reference"),
        ("saliency-up", "ok", "auto", "remove only"),
        ("paint", "ok", None, "unknown task"),
    ],
)
def test_impossible_requests(demo_model, sample_rgb, mask, task, mask_kind, ref, message):
    masks = {"empty": np.zeros_like(mask), "full": np.ones_like(mask), "small": np.ones((64, 64), bool), "ok": mask}
    with pytest.raises(BadInputError, match=message):
        run_edit(demo_model, EditRequest(task, sample_rgb, masks[mask_kind], ref, FAST))


@pytest.mark.parametrize(
    "params, message",
    [
        (EditParams(lr=0), "learning rate"),
        (EditParams(iterations=0), "iter"),
        (EditParams(refresh_every=0), "refresh"),
        (EditParams(t_min=5000), "t_min"),
    ],
)
def test_impossible_parameters(demo_model, sample_rgb, mask, params, message):
    with pytest.raises(BadInputError, match=message):
        run_edit(demo_model, EditRequest("remove", sample_rgb, mask, None, params))


def test_nan_in_the_model_is_a_clear_error(sample_rgb, mask):
    from gencurve_desktop.engine.models import load_model

    broken = load_model("demo", device="cpu")
    with torch.no_grad():
        broken.unet.mid_block.resnets[0].conv1.weight.fill_(float("nan"))
    with pytest.raises(EditFailedError, match="NaN"):
        run_edit(broken, EditRequest("remove", sample_rgb, mask, None, FAST))


def test_out_of_memory_is_reported(demo_model, sample_rgb, mask):
    def on_progress(ev):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    with pytest.raises(OutOfMemoryError, match="ran out of memory"):
        run_edit(demo_model, EditRequest("remove", sample_rgb, mask, None, FAST), on_progress)


def test_auto_reference_is_outside_the_mask(demo_model, sample_rgb, mask):
    result = run_edit(demo_model, EditRequest("remove", sample_rgb, mask, "auto", FAST))
    x, y = result.ref
    assert not mask[y, x]
    assert result.curve_distance_before is not None


def _count_encodes(model) -> list:
    calls = []
    model.vae.encoder.register_forward_hook(lambda *_: calls.append(1))
    return calls


def test_an_edit_reuses_the_inversion_of_its_image(sample_rgb, mask):
    from gencurve_desktop.engine.analysis import invert_image
    from gencurve_desktop.engine.models import load_model

    model = load_model("demo", "cpu", "fp32")  # its own copy: the hook stays off the shared fixture
    params = EditParams(iterations=3, steps=6, refresh_every=2)
    request = EditRequest("transfer", sample_rgb, mask, (10, 100), params)
    fresh = run_edit(model, request)
    inversion = invert_image(model, sample_rgb, steps=6, max_side=params.max_side)
    encodes = _count_encodes(model)
    reused = run_edit(model, request, inversion=inversion)
    assert encodes == [1]  # the input is not encoded again: the one encode is the output's, for its figures
    assert np.array_equal(reused.image, fresh.image) and reused.loss == fresh.loss
    other = invert_image(model, sample_rgb, steps=8)  # another step count: not this edit's, so not used
    encodes.clear()
    again = run_edit(model, request, inversion=other)
    assert encodes == [1, 1] and np.array_equal(again.image, fresh.image)  # the input, then the output
