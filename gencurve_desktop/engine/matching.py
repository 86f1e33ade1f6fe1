"""Curve matching (paper §4, Algorithm 1; DESIGN §2): the engine behind the five edits.

``run_edit`` reads top to bottom as numbered steps; each step is a small helper below it. How a loss at x_t
reaches x_T (``backprop`` by default, ``linearised`` opt-in) lives in ``engine.chain``.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from gencurve_desktop.engine import ddim, latents
from gencurve_desktop.engine.analysis import Inversion
from gencurve_desktop.engine.auto_reference import spread_cells, suggest_reference
from gencurve_desktop.engine.cancel import CancelToken, checkpoint
from gencurve_desktop.engine.chain import generate_blended, grad_checkpointed, grad_linearised
from gencurve_desktop.engine.curves import CHANNELS, cell_channel_rates
from gencurve_desktop.engine.devices import oom_guard
from gencurve_desktop.engine.edit_figures import MEASURED_CELLS, Figures, figures_from_rates, measure_image
from gencurve_desktop.engine.edit_reports import PHASES, EditProgress, EditResult, announce
from gencurve_desktop.engine.framing import Framing, frame_for
from gencurve_desktop.engine.masks import boundary_band, composite, feather_alpha
from gencurve_desktop.engine.memory import deepest_kept_chain
from gencurve_desktop.engine.models import DiffusionModel
from gencurve_desktop.engine.precision import dtypes_by_part
from gencurve_desktop.engine.requests import EditParams, EditRequest
from gencurve_desktop.engine.tasks import decoder_features, task_loss, uses_reference
from gencurve_desktop.engine.working_region import choose_window, native_side, run_in_window
from gencurve_desktop.errors import BadInputError, EditFailedError

__all__ = ["EditProgress", "EditResult", "PHASES", "generate_blended", "run_edit", "sampling_weights"]

#: Cells averaged for the region curve on the optimiser's trajectory (s among them); the figures reported as
#: before/after are measured on the images themselves over ``edit_figures.MEASURED_CELLS`` cells.
REGION_SAMPLE = 4


def sampling_weights(task: str, has_ref: bool, source_curve: np.ndarray, timesteps: np.ndarray, t_min: int):
    """p(t) ∝ c_s(t): over every t when the loss matches a reference curve (transfer, remove with q, as the
    paper samples); only t >= t_min for the pseudo curve and the saliency losses, where t_min belongs."""
    weights = torch.from_numpy(np.asarray(source_curve, dtype=np.float64)).clamp_min(1e-12)
    if not uses_reference(task, has_ref):
        weights = weights * torch.from_numpy(timesteps >= t_min)
    return weights


def run_edit(
    model: DiffusionModel,
    request: EditRequest,
    on_progress: Callable[[EditProgress], None] | None = None,
    cancel: CancelToken | None = None,
    inversion: Inversion | None = None,
) -> EditResult:
    """Run one curve-matching edit; raises CancelledError / BadInputError / EditFailedError / OutOfMemoryError.

    ``inversion``: an inversion of this very image by this model (e.g. the desktop's cached one); it is used when
    its framing and step count are the edit's, and ignored otherwise. Nothing is returned (and nothing changes)
    unless the edit finishes.
    """
    request.validate()
    with oom_guard():
        uses_ref = isinstance(request.ref, tuple) and uses_reference(request.task, True)
        size = (request.image.shape[1], request.image.shape[0])
        p = request.params
        window = choose_window(
            size, request.mask, request.ref if uses_ref else None, p.region, native_side(model), p.feather_px
        )
        if window is None:
            return _run(model, request, on_progress, cancel, inversion)
        return run_in_window(_run, model, request, window, uses_ref, on_progress, cancel)


@dataclass
class _Setup:
    """What every step of one edit shares: the model, parameters, the region, the inverted trajectory."""

    model: DiffusionModel
    task: str
    p: EditParams
    framing: Framing
    region: np.ndarray  # image-size bool: the mask, or its inner boundary band (blend)
    omega_cells: np.ndarray  # K x 2 latent cells of Ω
    blend: torch.Tensor  # 1 x 1 x h x w: 1 inside Ω
    inverted: ddim.Trajectory  # the inversion of the framed image
    orig: torch.Tensor  # its latents, N x 4 x h x w, on the model's device
    cancel: CancelToken | None
    ref: tuple[int, int] | None = None  # the reference pixel (x, y)
    ref_cell: tuple[int, int] | None = None
    ref_in_omega: bool = False
    checkpointed: int = 0  # iterations whose chain was checkpointed (engine/memory.py: when it would not fit)
    kept_depth: int = -1  # the deepest chain whose every activation fits in free memory (decided once per edit)

    @property
    def schedule(self) -> ddim.Schedule:
        return self.inverted.schedule

    @property
    def timesteps(self) -> np.ndarray:
        return self.schedule.timesteps.numpy()

    @property
    def has_ref(self) -> bool:
        return self.ref_cell is not None


def _run(model, request, on_progress, cancel, inversion) -> EditResult:
    start = time.perf_counter()
    p = request.params.for_task(request.task)

    # 1. frame the image and the region Ω (blend: the mask's inner boundary band)
    framing, region, omega = _frame_region(request, p)

    # 2. encode and invert z0 -> x_T, or reuse this image's inversion
    announce(on_progress, "inverting", p.iterations)
    inverted = _inverted(model, request.image, framing, p.steps, inversion, cancel)
    blend = torch.from_numpy(omega.astype(np.float32)).to(model.device)[None, None]
    orig = inverted.latents.to(model.device)
    e = _Setup(model, request.task, p, framing, region, np.argwhere(omega), blend, inverted, orig, cancel)

    # 3. the reference pixel q: given, suggested ("auto"), or none (pseudo curve, saliency losses)
    _place_reference(e, request, omega)

    # 4. the representative source cell s, the report's cells (s among them), x_T and its optimiser
    s_cell = _central_cell(e.omega_cells)
    report_cells = [s_cell] + spread_cells(_without(e.omega_cells, s_cell), REGION_SAMPLE - 1, p.seed)
    measured_cells = [s_cell] + spread_cells(_without(e.omega_cells, s_cell), MEASURED_CELLS - 1, p.seed)
    x_T = orig[0:1].clone().requires_grad_(True)
    optimizer = torch.optim.Adam([x_T], lr=p.lr)
    if p.gradient == "backprop":  # which chains keep every activation: asked once, not in the loop
        e.kept_depth = deepest_kept_chain(model, framing.latent_shape, len(e.schedule), e.task)

    # 5. the starting trajectory and curves (shown at once), the optimiser's "before" figures, and the input's
    #    own, measured on its inversion path
    announce(on_progress, "curves", p.iterations)
    ref_rates = None
    if e.has_ref and not e.ref_in_omega:  # q's curve on the image's own inversion path; it never changes
        ref_rates = _curves(e, e.inverted, [e.ref_cell])[0]
    traj, s_rates, ref_rates = _refresh(e, x_T, s_cell, ref_rates)
    announce(on_progress, "curves", p.iterations, e.timesteps, s_rates.mean(0), _mean(ref_rates))
    trajectory_before = _report(e, traj, s_rates, report_cells, ref_rates)
    before = _measure(e, request.image, measured_cells, e.inverted)

    # 6. the optimisation loop: sample (p, channel, t), loss at x_t, gradient to x_T, Adam; refresh every k
    gen = torch.Generator().manual_seed(p.seed)
    cache, x_T_cache = traj.latents, x_T.detach().clone()
    features_orig: dict[int, list[torch.Tensor]] = {}
    losses: list[float] = []
    loop_start = time.perf_counter()
    for it in range(p.iterations):
        checkpoint(cancel)
        cell, channel, n = _sample(e, gen, s_rates)
        loss_at = _loss_at(e, cell, channel, n, ref_rates, features_orig)
        state = x_T.detach().clone()
        value, gradient = _step(e, optimizer, x_T, loss_at, n, state, cache, x_T_cache, it)
        losses.append(value)
        preview = None
        if (it + 1) % p.refresh_every == 0 or it + 1 == p.iterations:
            _localise(e, x_T)
            traj, s_rates, ref_rates = _refresh(e, x_T, s_cell, ref_rates)
            cache, x_T_cache = traj.latents, x_T.detach().clone()
            if p.preview_every and (it + 1) % p.preview_every == 0 and on_progress is not None:
                preview = _finish(model, traj.z0, framing, request.image, region, p.feather_px)
        if on_progress is not None:
            on_progress(
                EditProgress(
                    it + 1,
                    p.iterations,
                    value,
                    [int(v) for v in e.timesteps],
                    s_rates.mean(0),
                    _mean(ref_rates),
                    preview,
                    (cell, channel, n),
                    state,
                    gradient,
                )
            )
    seconds_loop = time.perf_counter() - loop_start

    # 7. the optimiser's "after" figures on its last trajectory, then decode and composite
    checkpoint(cancel)
    announce(on_progress, "report", p.iterations)
    trajectory_after = _report(e, traj, s_rates, report_cells, ref_rates)
    announce(on_progress, "decoding", p.iterations)
    image = _finish(model, traj.z0, framing, request.image, region, p.feather_px)
    checkpoint(cancel)

    # 8. the "after" figures, measured on the output image afresh (encode, invert, curves)
    announce(on_progress, "measuring", p.iterations)
    after = _measure(e, image, measured_cells, None)
    checkpoint(cancel)

    # 9. the result and its provenance
    return EditResult(
        image=image,
        task=e.task,
        params=p.to_dict(),
        model_id=model.model_id,
        ref=e.ref,
        iterations=len(losses),
        loss=losses,
        timesteps=[int(v) for v in e.timesteps],
        source_curve_before=before.region_curve.tolist(),
        source_curve_after=after.region_curve.tolist(),
        reference_curve_before=None if before.reference_curve is None else before.reference_curve.tolist(),
        reference_curve_after=None if after.reference_curve is None else after.reference_curve.tolist(),
        curve_distance_before=before.curve_distance,
        curve_distance_after=after.curve_distance,
        fluctuation_before=before.fluctuation,
        fluctuation_after=after.fluctuation,
        seconds=time.perf_counter() - start,
        seconds_per_iteration=seconds_loop / max(1, len(losses)),
        mask=request.mask.copy(),
        loss_kind="true" if p.gradient == "backprop" else "linearised estimate",
        measured_cells=len(measured_cells),
        precision=dtypes_by_part(model.dtype),
        checkpointed_iterations=e.checkpointed,
        trajectory_figures={
            "curve_distance_before": trajectory_before.curve_distance,
            "curve_distance_after": trajectory_after.curve_distance,
            "fluctuation_before": trajectory_before.fluctuation,
            "fluctuation_after": trajectory_after.fluctuation,
            "source_curve_before": trajectory_before.region_curve.tolist(),
            "source_curve_after": trajectory_after.region_curve.tolist(),
            "cells": len(report_cells),
        },
    )


def _frame_region(request: EditRequest, p: EditParams) -> tuple[Framing, np.ndarray, np.ndarray]:
    """Step 1: the framing, the region Ω in image pixels, and Ω's latent cells (bool, latent size)."""
    framing = frame_for((request.image.shape[1], request.image.shape[0]), p.max_side)
    region = boundary_band(request.mask, p.erode_px) if request.task == "blend" else request.mask
    if not region.any():
        raise BadInputError("the boundary band is empty: lower the erosion kernel")
    return framing, region, framing.latent_mask(region)


def _inverted(model, image, framing, steps, inversion, cancel) -> ddim.Trajectory:
    """Step 2: the inversion trajectory of the framed image (x_T first), reused when it is this edit's."""
    if (
        inversion is not None
        and inversion.framing == framing
        and len(inversion.trajectory.schedule.timesteps) == steps
        and tuple(inversion.trajectory.latents.shape[-2:]) == framing.latent_shape
    ):
        return inversion.trajectory
    schedule = ddim.make_schedule(model, steps)
    z0 = latents.encode_image(model, framing.frame_image(image))
    return ddim.invert(model, z0, schedule, cancel=cancel)


def _place_reference(e: _Setup, request: EditRequest, omega: np.ndarray) -> None:
    """Step 3: the reference pixel and its cell; "auto" picks the calmest curve around the mask."""
    ref = request.ref
    if ref == "auto":
        ref = suggest_reference(e.model, e.inverted, e.framing, request.mask, e.cancel)
    e.ref = tuple(ref) if ref is not None else None
    if ref is not None and uses_reference(e.task, True):
        e.ref_cell = e.framing.to_latent_cell(*ref)
        e.ref_in_omega = bool(omega[e.ref_cell])
    if not uses_reference(e.task, e.has_ref) and not (e.timesteps >= e.p.t_min).any():
        raise BadInputError(f"t_min={e.p.t_min} excludes every timestep")


def _central_cell(cells: np.ndarray) -> tuple[int, int]:
    centroid = cells.mean(0)
    return tuple(int(v) for v in cells[np.argmin(((cells - centroid) ** 2).sum(1))])


def _without(cells: np.ndarray, cell: tuple[int, int]) -> np.ndarray:
    return cells[~((cells[:, 0] == cell[0]) & (cells[:, 1] == cell[1]))]


def _mean(rates: np.ndarray | None) -> np.ndarray | None:
    return None if rates is None else rates.mean(0)


def _curves(e: _Setup, traj: ddim.Trajectory, cells) -> np.ndarray:
    """Exact rates of ``cells`` on ``traj``, every channel, in one batched call: P x C x N."""
    if not cells:
        return np.zeros((0, CHANNELS, len(e.schedule.timesteps)), np.float32)
    return cell_channel_rates(e.model, traj, list(cells), list(range(CHANNELS)), cancel=e.cancel)


def _refresh(e: _Setup, x_T, s_cell, ref_rates):
    """Regenerate x_T -> z0 with the localised modification and the curves of s (and of q when q lies inside Ω,
    at every refresh; outside Ω q's curve is the inversion path's, computed once in step 5)."""
    traj_latents, z = generate_blended(e.model, x_T.detach(), e.orig, e.blend, e.schedule, e.p.t_blend, e.cancel)
    traj = ddim.Trajectory(z0=z, latents=traj_latents, schedule=e.schedule)
    recompute_ref = e.has_ref and (e.ref_in_omega or ref_rates is None)
    rates = _curves(e, traj, [s_cell] + ([e.ref_cell] if recompute_ref else []))
    if not (np.isfinite(rates).all() and torch.isfinite(traj_latents).all()):
        raise EditFailedError("the model produced NaN or inf values; try fp32 (--dtype fp32) or a lower learning rate")
    return traj, rates[0], (rates[1] if recompute_ref else ref_rates)


def _report(e: _Setup, traj, s_rates, report_cells, ref_rates) -> Figures:
    """The optimiser's figures on its own trajectory: s's rates reused, the other report cells computed; the
    distance is to q's curve, or to the pseudo curve (0 above t_min) for remove without q."""
    others = _curves(e, traj, report_cells[1:])
    rates = np.concatenate([s_rates[None], others])
    return figures_from_rates(rates, ref_rates, e.timesteps, e.p.t_min, e.task == "remove" and ref_rates is None)


def _measure(e: _Setup, image: np.ndarray, cells, trajectory) -> Figures:
    """The figures of ``image`` on its own inversion path (``trajectory`` when it is already known)."""
    return measure_image(
        e.model, image, e.framing, e.schedule, cells, e.ref_cell, e.p.t_min,
        pseudo=e.task == "remove" and e.ref_cell is None, cancel=e.cancel, trajectory=trajectory,
    )  # fmt: skip


def _sample(e: _Setup, gen: torch.Generator, s_rates: np.ndarray) -> tuple[tuple[int, int], int, int]:
    """p uniform in Ω, a channel, and the trajectory index n with t drawn in proportion to the source curve."""
    cells = e.omega_cells
    cell = tuple(int(v) for v in cells[int(torch.randint(len(cells), (1,), generator=gen))])
    channel = int(torch.randint(CHANNELS, (1,), generator=gen))
    weights = sampling_weights(e.task, e.has_ref, s_rates.mean(0), e.timesteps, e.p.t_min)
    return cell, channel, int(torch.multinomial(weights, 1, generator=gen))


def _loss_at(e: _Setup, cell, channel, n, ref_rates, features_orig: dict) -> Callable:
    """The task's loss as a function of x_t at trajectory index n (features of the original cached per n)."""
    t = e.schedule.timesteps[n : n + 1].to(e.model.device)
    target = float(ref_rates[channel, n]) if ref_rates is not None else None
    feats0 = None
    if e.task.startswith("saliency") or e.task == "blend":
        if n not in features_orig:
            with torch.no_grad():
                feats = decoder_features(e.model, e.orig[n : n + 1], t, e.p.features)
                features_orig[n] = [f.detach() for f in feats]
        feats0 = features_orig[n]
    return functools.partial(
        task_loss, e.task, e.model, t=t, cell=cell, channel=channel, target=target, lam=e.p.lam,
        features_orig=feats0, features=e.p.features,
    )  # fmt: skip


def _step(e: _Setup, optimizer, x_T, loss_at, n, state, cache, x_T_cache, it) -> tuple[float, torch.Tensor]:
    """The loss at x_t(x_T) and its gradient with respect to x_T (``e.p.gradient``), then one Adam step."""
    if e.p.gradient == "backprop":
        t_blend = e.p.t_blend if e.p.blend_schedule == "every-step" else None  # every-k: an unblended chain
        keep_less = n > e.kept_depth  # checkpoint only a chain whose activations would not fit
        e.checkpointed += int(keep_less)
        grad_xT, loss = grad_checkpointed(
            loss_at, e.model, e.orig, e.blend, e.schedule, t_blend, n, state, checkpointing=keep_less
        )
    else:
        gains = ((1 - e.schedule.alphas) / (1 - e.schedule.alphas[0])).sqrt().float()
        grad_xT, loss = grad_linearised(loss_at, cache, gains, x_T_cache, n, state)
    value = float(loss)
    if not np.isfinite(value) or not torch.isfinite(grad_xT).all():
        raise EditFailedError(f"the loss became {value} at iteration {it + 1}; try a lower learning rate")
    optimizer.zero_grad(set_to_none=False)
    x_T.grad = grad_xT.to(x_T.dtype, copy=True)  # the optimiser zeroes .grad in place; grad_xT is reported
    optimizer.step()
    return value, grad_xT


def _localise(e: _Setup, x_T: torch.Tensor) -> None:
    """The localised modification of x_T itself: outside Ω it is the original's, when t_T >= t_blend."""
    with torch.no_grad():
        if e.schedule.timesteps[0] >= e.p.t_blend:
            x_T.copy_((1 - e.blend) * e.orig[0:1] + e.blend * x_T)


def _finish(model, z0, framing: Framing, original: np.ndarray, region: np.ndarray, feather_px: int) -> np.ndarray:
    """Decode, bring back to the original size, and composite inside the feathered region."""
    decoded = framing.unframe(latents.decode_latent(model, z0))
    return composite(original, decoded, feather_alpha(region, feather_px))
