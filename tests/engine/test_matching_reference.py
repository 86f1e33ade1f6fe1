"""Curve matching held to an independent reference (reference_method.py: its own float64 U-Net copy, DDIM loop,
mid-block hook and double backward; nothing of the engine's chain, loss or h-space code).

Each test runs the real edit (``run_edit``) and, at every iteration, recomputes from the x_T the engine took its
step at and the (cell, channel, t) it drew: the loss, and dL/dx_T by reverse mode through the whole chain. The
engine must report that loss and step along that gradient: fp32 within 1e-4 and cosine >= 0.999; bf16 (CPU
autocast, engine/precision.py) within 1 % and cosine >= 0.95. A sign error, a wrong feature term, a blend inside
the chain, a target read on the wrong trajectory or a wrong h-space each fail them (docs/method.md "How the method
is tested").
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from gencurve_desktop.engine import latents
from gencurve_desktop.engine.framing import frame_for
from gencurve_desktop.engine.matching import run_edit
from gencurve_desktop.engine.requests import EditParams, EditRequest

sys.path.insert(0, str(Path(__file__).parent))
from reference_method import Reference  # noqa: E402

STEPS = 6
#: (task, reference pixel): every task, remove with and without q.
CASES = [
    ("transfer", (56, 6)),
    ("remove", (56, 6)),
    ("remove", None),
    ("saliency-up", None),
    ("saliency-down", None),
    ("blend", None),
]


@pytest.fixture(scope="module")
def photo(sample_rgb):
    """A 64 x 64 crop (an 8 x 8 latent) and a mask on it."""
    rgb = np.ascontiguousarray(sample_rgb[32:96, 32:96])
    mask = np.zeros(rgb.shape[:2], bool)
    mask[16:44, 14:46] = True
    return rgb, mask


@pytest.fixture(scope="module")
def reference(demo_model, photo):
    ref = Reference.of(demo_model, STEPS)
    framing = frame_for(photo[0].shape[1::-1], 1024)
    return ref, framing, ref.invert(latents.encode_image(demo_model, framing.frame_image(photo[0])))


def compare(model, reference, photo, task, q) -> list[tuple[float, float, float, float]]:
    """(engine loss, reference loss, reference rate, gradient cosine) at every iteration of a 3-iteration edit
    (k = 2: the localisation between iterations 2 and 3 is crossed)."""
    ref, framing, path = reference
    rgb, mask = photo
    events = []
    params = EditParams(iterations=3, steps=STEPS, refresh_every=2, seed=1)
    run_edit(model, EditRequest(task, rgb, mask, q, params), events.append)
    ref_cell = framing.to_latent_cell(*q) if q is not None else None
    rows = []
    for ev in (e for e in events if e.phase == "iterations"):
        cell, channel, n = ev.sample
        loss, grad, r = ref.loss_and_grad(task, ev.x_T, n, cell, channel, path=path, ref_cell=ref_cell, lam=params.lam)
        cosine = torch.nn.functional.cosine_similarity(grad.flatten(), ev.gradient.double().flatten(), dim=0)
        rows.append((ev.loss, loss, r, float(cosine)))
    assert len(rows) == 3
    return rows


@pytest.mark.parametrize("task, q", CASES)
def test_fp32_loss_and_gradient_are_the_references(demo_model, reference, photo, task, q):
    for engine_loss, ref_loss, _, cosine in compare(demo_model, reference, photo, task, q):
        assert engine_loss == pytest.approx(ref_loss, rel=1e-4, abs=1e-4)
        assert cosine >= 0.999


@pytest.fixture(scope="module")
def bf16_model():
    from gencurve_desktop.engine.models import load_model

    return load_model("demo", device="cpu", dtype="bf16")


@pytest.mark.slow
@pytest.mark.parametrize("task, q", CASES)
def test_bf16_loss_and_gradient_stay_near_the_references(bf16_model, reference, photo, task, q):
    """Within 1 % of the loss, or of the rate it is built from when the loss is a difference near zero (|r - c|,
    or s r + λ D with the terms cancelling): bf16 carries 8 significant bits, 0.4 % per value."""
    for engine_loss, ref_loss, rate, cosine in compare(bf16_model, reference, photo, task, q):
        assert abs(engine_loss - ref_loss) <= 0.01 * max(abs(ref_loss), rate)
        assert cosine >= 0.95
