"""Curve matching (paper §4, Algorithm 1; DESIGN §2): the engine behind the five edits.

How gradients reach x_T from x_t (README "How gradients reach x_T"):
- ``backprop`` (default): backpropagation through the DDIM chain x_T -> x_t, with activation checkpointing per
  step (memory: the n latents of the chain plus one U-Net step, whatever n is). Its direction is the true one,
  and the loss it reports is the loss at the true x_t(x_T).
- ``linearised`` (opt-in, faster): x_t(x_T) = x_t^cache + g_t (x_T - x_T^cache) with the DDIM noise gain
  g_t = sqrt(1 - a_t) / sqrt(1 - a_T), the cache regenerated every k iterations. One JVP and its reverse pass
  per iteration, but its gradient points elsewhere (cosine 0.4-0.6 with the true one on the demo model) and
  its loss is the loss at the extrapolated state, so the report labels it as an estimate.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from gencurve_desktop.document.framing import LATENT_FACTOR, Framing, frame_for
from gencurve_desktop.document.masks import boundary_band, composite, feather_alpha, ring
from gencurve_desktop.engine import ddim, latents
from gencurve_desktop.engine.cancel import CancelToken, checkpoint
from gencurve_desktop.engine.curves import CHANNELS, cell_channel_rates
from gencurve_desktop.engine.devices import oom_guard
from gencurve_desktop.engine.hspace import ad_attention
from gencurve_desktop.engine.models import DiffusionModel
from gencurve_desktop.engine.requests import TASK_NAMES, EditRequest
from gencurve_desktop.engine.saliency import fluctuation
from gencurve_desktop.engine.tasks import decoder_features, task_loss, uses_reference
from gencurve_desktop.errors import BadInputError, EditFailedError

#: Cells averaged for the region curve in the before/after report.
REGION_SAMPLE = 4
#: Width of the ring searched by ``--ref auto``, image pixels.
AUTO_REF_RING_PX = 24
AUTO_REF_CANDIDATES = 12


@dataclass
class EditProgress:
    """What the progress callback receives after every iteration."""

    iteration: int
    total: int
    loss: float
    timesteps: list[int]
    source_curve: np.ndarray
    reference_curve: np.ndarray | None
    preview: np.ndarray | None = None
    sample: tuple | None = None  # ((row, col), channel, trajectory index n) the loss was taken at
    x_T: torch.Tensor | None = field(default=None, repr=False)  # the x_T the loss and gradient were taken at
    phase: str = "iterations"  # inverting | curves | iterations | report | decoding


PHASES = {
    "inverting": "Inverting the image",
    "curves": "Computing the starting curves",
    "iterations": "Optimising",
    "report": "Measuring the result",
    "decoding": "Decoding",
}


def _announce(on_progress, phase: str, total: int) -> None:
    """A progress event that names the phase the edit has reached (no iteration yet, nothing to plot)."""
    if on_progress is not None:
        on_progress(EditProgress(0, total, float("nan"), [], np.zeros(0), None, phase=phase))


@dataclass(frozen=True)
class EditResult:
    """The edited image (original size, composited) and its provenance."""

    image: np.ndarray = field(repr=False)
    task: str
    params: dict
    model_id: str
    ref: tuple[int, int] | None
    iterations: int
    loss: list[float]  # the loss at the true x_t(x_T) (backprop), or at the linearised state (see loss_kind)
    timesteps: list[int]
    source_curve_before: list[float]
    source_curve_after: list[float]
    reference_curve_before: list[float] | None
    reference_curve_after: list[float] | None
    curve_distance_before: float | None
    curve_distance_after: float | None
    fluctuation_before: float
    fluctuation_after: float
    seconds: float
    seconds_per_iteration: float
    mask: np.ndarray = field(repr=False, default=None)  # the request's mask (bool, image size)
    loss_kind: str = "true"  # "true", or "linearised estimate" with --gradient linearised

    @property
    def title(self) -> str:
        """A layer name for the result, e.g. "Remove object"."""
        return TASK_NAMES[self.task]

    def provenance(self) -> dict:
        """Everything but the pixels, JSON-ready."""
        d = {k: v for k, v in self.__dict__.items() if k not in ("image", "mask")}
        d["ref"] = list(self.ref) if self.ref else None
        return d


def cell_center(framing: Framing, cell: tuple[int, int]) -> tuple[int, int]:
    """The image pixel (x, y) at the centre of latent cell (row, col)."""
    x = (cell[1] * LATENT_FACTOR + LATENT_FACTOR // 2) / framing.scale
    y = (cell[0] * LATENT_FACTOR + LATENT_FACTOR // 2) / framing.scale
    return min(int(x), framing.size[0] - 1), min(int(y), framing.size[1] - 1)


def _spread(cells: np.ndarray, count: int, gen: torch.Generator) -> list[tuple[int, int]]:
    idx = torch.randperm(len(cells), generator=gen)[:count].sort().values
    return [tuple(int(v) for v in cells[i]) for i in idx]


def generate_blended(model, x_T, orig: torch.Tensor, blend: torch.Tensor, schedule, t_blend, cancel=None):
    """x_T -> (trajectory N x 4 x h x w, z0), keeping the original outside the mask while t >= t_blend."""
    ts = schedule.timesteps
    x = x_T
    if ts[0] >= t_blend:
        x = (1 - blend) * orig[0:1] + blend * x
    out = [x[0]]
    with torch.no_grad():
        for n in range(len(schedule)):
            checkpoint(cancel)
            x = ddim.generate_step(model, x, schedule, n)
            if n + 1 < len(schedule):
                if ts[n + 1] >= t_blend:
                    x = (1 - blend) * orig[n + 1 : n + 2] + blend * x
                out.append(x[0])
    return torch.stack(out), x


def _generate_to(model, orig, blend, schedule, t_blend, n: int, x_T: torch.Tensor) -> torch.Tensor:
    """x_T -> x_t at trajectory index n with the localised blend, differentiably (the "backprop" gradient)."""
    ts = schedule.timesteps
    x = (1 - blend) * orig[0:1] + blend * x_T if ts[0] >= t_blend else x_T
    for m in range(n):
        x = ddim.generate_step(model, x, schedule, m)
        if ts[m + 1] >= t_blend:
            x = (1 - blend) * orig[m + 1 : m + 2] + blend * x
    return x


def _loss_through_chain(loss_at, model, orig, blend, schedule, t_blend, n, x_T):
    return loss_at(_generate_to(model, orig, blend, schedule, t_blend, n, x_T))


def grad_full(loss_at, model, orig, blend, schedule, t_blend, n, x_T) -> tuple[torch.Tensor, torch.Tensor]:
    """dL/dx_T and L by plain reverse mode through the whole chain, every activation kept (the reference)."""
    through_chain = functools.partial(_loss_through_chain, loss_at, model, orig, blend, schedule, t_blend, n)
    with ad_attention():
        return torch.func.grad_and_value(through_chain)(x_T.detach())


def grad_checkpointed(loss_at, model, orig, blend, schedule, t_blend, n, x_T) -> tuple[torch.Tensor, torch.Tensor]:
    """dL/dx_T and L through the chain x_T -> x_t, recomputing each DDIM step's activations in the backward pass."""
    from torch.utils.checkpoint import checkpoint as recompute

    ts = schedule.timesteps

    def step(x: torch.Tensor, m: int) -> torch.Tensor:
        x = ddim.generate_step(model, x, schedule, m)
        return (1 - blend) * orig[m + 1 : m + 2] + blend * x if ts[m + 1] >= t_blend else x

    x0 = x_T.detach().requires_grad_(True)
    with torch.enable_grad(), ad_attention():
        x = (1 - blend) * orig[0:1] + blend * x0 if ts[0] >= t_blend else x0
        for m in range(n):
            x = recompute(step, x, m, use_reentrant=False)
        loss = loss_at(x)
        (grad,) = torch.autograd.grad(loss, x0)
    return grad, loss.detach()


def grad_linearised(loss_at, cache, gains, x_T_cache, n, x_T) -> tuple[torch.Tensor, torch.Tensor]:
    """dL/dx_T and L under x_t = x_t^cache + g_t (x_T - x_T^cache): fast, an approximation (see module doc)."""
    x_t = (cache[n : n + 1] + gains[n] * (x_T.detach() - x_T_cache)).detach()
    with ad_attention():
        grad_xt, loss = torch.func.grad_and_value(loss_at)(x_t)
    return gains[n] * grad_xt, loss


def sampling_weights(task: str, has_ref: bool, source_curve: np.ndarray, timesteps: np.ndarray, t_min: int):
    """p(t) ∝ c_s(t): over every t when the loss matches a reference curve (transfer, remove with q, as the
    paper samples); only t >= t_min for the pseudo curve and the saliency losses, where t_min belongs."""
    weights = torch.from_numpy(np.asarray(source_curve, dtype=np.float64)).clamp_min(1e-12)
    if not uses_reference(task, has_ref):
        weights = weights * torch.from_numpy(timesteps >= t_min)
    return weights


def suggest_reference(model, inversion_traj, framing, mask, cancel=None) -> tuple[int, int]:
    """``--ref auto``: the calmest curve (lowest fluctuation) among cells in a ring around the mask."""
    ring_cells = np.argwhere(framing.latent_mask(ring(mask, AUTO_REF_RING_PX)) & ~framing.latent_mask(mask))
    if len(ring_cells) == 0:
        raise BadInputError("no background around the mask to pick a reference from; click one instead")
    cand = _spread(ring_cells, AUTO_REF_CANDIDATES, torch.Generator().manual_seed(0))
    rates = cell_channel_rates(model, inversion_traj, cand, list(range(CHANNELS)), cancel=cancel).mean(1)
    fl = fluctuation(rates, inversion_traj.schedule.timesteps.numpy())
    return cell_center(framing, cand[int(np.argmin(fl))])


def run_edit(
    model: DiffusionModel,
    request: EditRequest,
    on_progress: Callable[[EditProgress], None] | None = None,
    cancel: CancelToken | None = None,
) -> EditResult:
    """Run one curve-matching edit; raises CancelledError / BadInputError / EditFailedError / OutOfMemoryError.

    Nothing is returned (and nothing changes) unless the edit finishes.
    """
    request.validate()
    with oom_guard():
        return _run(model, request, on_progress, cancel)


def _run(model, request, on_progress, cancel) -> EditResult:
    start = time.perf_counter()
    task, p = request.task, request.params.for_task(request.task)
    dev = model.device

    # 1. frame the image; the region Ω is the mask (blend: its inner boundary band)
    framing = frame_for((request.image.shape[1], request.image.shape[0]), p.max_side)
    region = boundary_band(request.mask, p.erode_px) if task == "blend" else request.mask
    if not region.any():
        raise BadInputError("the boundary band is empty: lower the erosion kernel")
    omega = framing.latent_mask(region)
    omega_cells = np.argwhere(omega)
    blend = torch.from_numpy(omega.astype(np.float32)).to(dev)[None, None]

    # 2. encode and invert z0 -> x_T
    _announce(on_progress, "inverting", p.iterations)
    schedule = ddim.make_schedule(model, p.steps)
    z0 = latents.encode_image(model, framing.frame_image(request.image))
    inversion = ddim.invert(model, z0, schedule, cancel=cancel)
    orig = inversion.latents.to(dev)

    # 3. the reference pixel q (given, suggested, or none: pseudo curve / saliency)
    ref = request.ref
    if ref == "auto":
        ref = suggest_reference(model, inversion, framing, request.mask, cancel)
    has_ref = ref is not None and uses_reference(task, True)
    ref_cell = framing.to_latent_cell(*ref) if has_ref else None
    ref_in_omega = has_ref and bool(omega[ref_cell])

    # 4. x_T is the optimisation variable; the representative source cell s is Ω's most central cell
    gen = torch.Generator().manual_seed(p.seed)
    x_T = orig[0:1].clone().requires_grad_(True)
    optimizer = torch.optim.Adam([x_T], lr=p.lr)
    centroid = omega_cells.mean(0)
    s_cell = tuple(int(v) for v in omega_cells[np.argmin(((omega_cells - centroid) ** 2).sum(1))])
    report_cells = _spread(omega_cells, REGION_SAMPLE, torch.Generator().manual_seed(p.seed))
    timesteps = schedule.timesteps.numpy()
    if not uses_reference(task, has_ref) and not (timesteps >= p.t_min).any():
        raise BadInputError(f"t_min={p.t_min} excludes every timestep")
    alphas = schedule.alphas
    gains = ((1 - alphas) / (1 - alphas[0])).sqrt().float()

    def curves_on(traj: ddim.Trajectory, cells):
        return cell_channel_rates(model, traj, cells, list(range(CHANNELS)), cancel=cancel)  # P x C x N

    def refresh():
        traj_latents, z = generate_blended(model, x_T.detach(), orig, blend, schedule, p.t_blend, cancel)
        traj = ddim.Trajectory(z0=z, latents=traj_latents, schedule=schedule)
        cells = [s_cell] + ([ref_cell] if ref_in_omega else [])
        rates = curves_on(traj, cells)
        if not (np.isfinite(rates).all() and torch.isfinite(traj_latents).all()):
            raise EditFailedError(
                "the model produced NaN or inf values; try fp32 (--dtype fp32) or a lower learning rate"
            )
        return traj, rates[0], (rates[1] if ref_in_omega else None)

    def report(traj: ddim.Trajectory, ref_rates):
        region_curve = curves_on(traj, report_cells).mean(axis=(0, 1))
        ref_curve = None if ref_rates is None else ref_rates.mean(0)
        keep = timesteps >= p.t_min
        if ref_curve is not None:
            dist = float(np.abs(region_curve - ref_curve)[keep].mean())
        elif task == "remove":
            dist = float(region_curve[keep].mean())  # distance to the pseudo curve (0 above t_min)
        else:
            dist = None
        return region_curve, ref_curve, dist, float(fluctuation(region_curve, timesteps, p.t_min))

    # 5. the starting trajectory, its curves, and the "before" report
    _announce(on_progress, "curves", p.iterations)
    traj, s_rates, ref_rates_in = refresh()
    ref_rates = ref_rates_in if ref_in_omega else (curves_on(traj, [ref_cell])[0] if has_ref else None)
    before = report(traj, ref_rates)
    cache, x_T_cache = traj.latents, x_T.detach().clone()
    features_orig: dict[int, list[torch.Tensor]] = {}

    # 6. the optimisation loop
    losses: list[float] = []
    loop_start = time.perf_counter()
    for it in range(p.iterations):
        checkpoint(cancel)
        # 6a. sample p uniformly in Ω, a channel, and t in proportion to the source curve (t >= t_min)
        cell = tuple(int(v) for v in omega_cells[int(torch.randint(len(omega_cells), (1,), generator=gen))])
        channel = int(torch.randint(CHANNELS, (1,), generator=gen))
        weights = sampling_weights(task, has_ref, s_rates.mean(0), timesteps, p.t_min)
        n = int(torch.multinomial(weights, 1, generator=gen))
        t = schedule.timesteps[n : n + 1].to(dev)
        target = float(ref_rates[channel, n]) if ref_rates is not None else None
        feats0 = None
        if task.startswith("saliency") or task == "blend":
            if n not in features_orig:
                with torch.no_grad():
                    features_orig[n] = [f.detach() for f in decoder_features(model, orig[n : n + 1], t)]
            feats0 = features_orig[n]
        # 6b. the loss at x_t and its gradient with respect to x_T
        loss_at = functools.partial(
            task_loss, task, model, t=t, cell=cell, channel=channel, target=target, lam=p.lam, features_orig=feats0
        )
        state = x_T.detach().clone()
        if p.gradient == "backprop":
            grad_xT, loss = grad_checkpointed(loss_at, model, orig, blend, schedule, p.t_blend, n, state)
        else:
            grad_xT, loss = grad_linearised(loss_at, cache, gains, x_T_cache, n, state)
        value = float(loss)
        if not np.isfinite(value) or not torch.isfinite(grad_xT).all():
            raise EditFailedError(f"the loss became {value} at iteration {it + 1}; try a lower learning rate")
        # 6c. Adam step on x_T
        optimizer.zero_grad(set_to_none=False)
        x_T.grad = grad_xT.to(x_T.dtype)
        optimizer.step()
        losses.append(value)
        # 6d. every k iterations: localised modification of x_T, regenerate, refresh curves
        preview = None
        if (it + 1) % p.refresh_every == 0 or it + 1 == p.iterations:
            with torch.no_grad():
                if schedule.timesteps[0] >= p.t_blend:
                    x_T.copy_((1 - blend) * orig[0:1] + blend * x_T)
            traj, s_rates, new_ref = refresh()
            if ref_in_omega:
                ref_rates = new_ref
            cache, x_T_cache = traj.latents, x_T.detach().clone()
            if p.preview_every and (it + 1) % p.preview_every == 0 and on_progress is not None:
                preview = _finish(model, traj.z0, framing, request.image, region, p.feather_px)
        if on_progress is not None:
            on_progress(
                EditProgress(
                    it + 1,
                    p.iterations,
                    value,
                    [int(v) for v in timesteps],
                    s_rates.mean(0),
                    None if ref_rates is None else ref_rates.mean(0),
                    preview,
                    (cell, channel, n),
                    state,
                )
            )
    seconds_loop = time.perf_counter() - loop_start

    # 7. the final trajectory (already regenerated at the last iteration), "after" report, decode, composite
    checkpoint(cancel)
    _announce(on_progress, "report", p.iterations)
    after = report(traj, ref_rates if has_ref else None)
    _announce(on_progress, "decoding", p.iterations)
    image = _finish(model, traj.z0, framing, request.image, region, p.feather_px)
    checkpoint(cancel)
    return EditResult(
        image=image,
        task=task,
        params=p.to_dict(),
        model_id=model.model_id,
        ref=tuple(ref) if ref is not None else None,
        iterations=len(losses),
        loss=losses,
        timesteps=[int(v) for v in timesteps],
        source_curve_before=before[0].tolist(),
        source_curve_after=after[0].tolist(),
        reference_curve_before=None if before[1] is None else before[1].tolist(),
        reference_curve_after=None if after[1] is None else after[1].tolist(),
        curve_distance_before=before[2],
        curve_distance_after=after[2],
        fluctuation_before=before[3],
        fluctuation_after=after[3],
        seconds=time.perf_counter() - start,
        seconds_per_iteration=seconds_loop / max(1, len(losses)),
        mask=request.mask.copy(),
        loss_kind="true" if p.gradient == "backprop" else "linearised estimate",
    )


def _finish(model, z0, framing: Framing, original: np.ndarray, region: np.ndarray, feather_px: int) -> np.ndarray:
    """Decode, bring back to the original size, and composite inside the feathered region."""
    decoded = framing.unframe(latents.decode_latent(model, z0))
    return composite(original, decoded, feather_alpha(region, feather_px))
