"""Curve fluctuation and dense saliency maps (paper §3.3, appendix B.1).

Fluctuation of a curve = the mean, over sliding windows of ``window`` consecutive timesteps with
t >= ``t_min``, of the variance inside the window. The exact map computes every cell's curve with one
JVP per cell, channel and timestep. The fast map estimates all squared rates at once from K random
vector-Jacobian products: for u ~ N(0, I) in h-space, E[(J^T u)_i^2] = ||J e_i||^2. The same K probes
are used at every timestep, so the estimator's error is smooth along t and largely cancels in the
windowed variance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from gencurve_desktop.engine.cancel import CancelToken, ProgressFn, checkpoint, no_progress
from gencurve_desktop.engine.curves import cell_rates, channels_for, chunk_size
from gencurve_desktop.engine.ddim import Trajectory
from gencurve_desktop.engine.hspace import h_shape, vjp_columns
from gencurve_desktop.engine.models import DiffusionModel
from gencurve_desktop.errors import BadInputError

DEFAULT_T_MIN = 200
DEFAULT_WINDOW = 5
DEFAULT_PROBES = 64


def fluctuation(rates: np.ndarray, timesteps: np.ndarray, t_min: int = DEFAULT_T_MIN, window: int = DEFAULT_WINDOW):
    """Windowed variance of curves ``rates`` (..., N; N in descending t) over timesteps >= t_min."""
    keep = np.asarray(timesteps) >= t_min
    if keep.sum() < 2:
        raise BadInputError(f"t_min={t_min} leaves fewer than 2 timesteps; lower it or raise --steps")
    r = np.asarray(rates, dtype=np.float64)[..., keep]
    w = max(2, min(window, r.shape[-1]))
    windows = np.lib.stride_tricks.sliding_window_view(r, w, axis=-1)
    return windows.var(axis=-1).mean(axis=-1)


@dataclass(frozen=True)
class RateMaps:
    """Rates of every latent cell at every timestep: N x rows x cols, N in generation order."""

    rates: np.ndarray
    timesteps: np.ndarray

    def saliency(self, t_min: int = DEFAULT_T_MIN, window: int = DEFAULT_WINDOW) -> np.ndarray:
        """The fluctuation map (rows x cols)."""
        return fluctuation(np.moveaxis(self.rates, 0, -1), self.timesteps, t_min, window)


def exact_rate_maps(
    model: DiffusionModel,
    trajectory: Trajectory,
    channel: int | None = None,
    chunk: int | None = None,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
) -> RateMaps:
    """The slow reference: one JVP per latent cell, channel and timestep."""
    rows, cols = trajectory.latents.shape[-2:]
    cells = [(r, c) for r in range(rows) for c in range(cols)]
    rates = cell_rates(model, trajectory, cells, channel, chunk, progress, cancel)  # P x N
    return RateMaps(rates.T.reshape(-1, rows, cols), trajectory.schedule.timesteps.numpy())


def estimated_rate_maps(
    model: DiffusionModel,
    trajectory: Trajectory,
    channel: int | None = None,
    probes: int = DEFAULT_PROBES,
    seed: int = 0,
    chunk: int | None = None,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
) -> RateMaps:
    """The fast dense estimator: K shared Gaussian probes, one VJP each per timestep."""
    if probes < 1:
        raise BadInputError(f"probes must be at least 1, got {probes}")
    chans = channels_for(channel)
    n_steps, _, rows, cols = trajectory.latents.shape
    hs = h_shape(model, (rows, cols))
    gen = torch.Generator().manual_seed(seed)
    u = torch.randn(probes, 1, *hs, generator=gen).to(model.device, torch.float32)
    per_call = chunk_size(model, chunk, (rows, cols), "vjp")
    t_batch = max(1, min(n_steps, per_call // min(probes, per_call)))
    k_batch = max(1, per_call // t_batch)
    sq = torch.zeros(n_steps, len(chans), rows, cols)
    total = -(-n_steps // t_batch) * -(-probes // k_batch)
    done = 0
    for n0 in range(0, n_steps, t_batch):
        xs = trajectory.latents[n0 : n0 + t_batch].to(model.device)
        ts = trajectory.schedule.timesteps[n0 : n0 + t_batch].to(model.device)
        for k0 in range(0, probes, k_batch):
            checkpoint(cancel)
            cot = u[k0 : k0 + k_batch].expand(-1, xs.shape[0], *hs).to(xs.dtype)
            g = vjp_columns(model, xs, ts, cot)  # K x B x 4 x h x w
            sq[n0 : n0 + len(ts)] += g[:, :, chans].float().pow(2).sum(0).cpu()
            done += 1
            progress("saliency", done, total)
    rates = (sq / probes).sqrt().mean(dim=1)
    return RateMaps(rates.numpy(), trajectory.schedule.timesteps.numpy())
