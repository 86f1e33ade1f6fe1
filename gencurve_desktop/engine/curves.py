"""Generation curves (DESIGN §2): r_t(x_t, e) = ||J_h(x_t) e|| along the DDIM inversion trajectory."""

from __future__ import annotations

import numpy as np
import torch

from gencurve_desktop.engine.cancel import CancelToken, ProgressFn, checkpoint, no_progress
from gencurve_desktop.engine.ddim import Trajectory
from gencurve_desktop.engine.hspace import jvp_norms
from gencurve_desktop.engine.memory import directions_per_call
from gencurve_desktop.engine.models import DiffusionModel
from gencurve_desktop.errors import BadInputError

CHANNELS = 4


def channels_for(channel: int | None) -> list[int]:
    """The latent channels a rate averages over: all four, or the one asked for."""
    if channel is None:
        return list(range(CHANNELS))
    if not 0 <= channel < CHANNELS:
        raise BadInputError(f"--channel must be 0..{CHANNELS - 1}, got {channel}")
    return [channel]


def chunk_size(model: DiffusionModel, chunk: int | None, latent_hw: tuple[int, int], kind: str = "jvp") -> int:
    """Directions per differentiation call: ``chunk`` if given, else what fits in free memory (engine.memory)."""
    if chunk is not None:
        if chunk < 1:
            raise BadInputError(f"the chunk must be at least 1, got {chunk}")
        return chunk
    return directions_per_call(model, latent_hw, kind)


def cell_rates(
    model: DiffusionModel,
    trajectory: Trajectory,
    cells: list[tuple[int, int]],
    channel: int | None = None,
    chunk: int | None = None,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
) -> np.ndarray:
    """Exact rates of latent cells (row, col): array P x N, N in generation order (descending t).

    A cell's rate is the mean over its channels (or the single ``channel``) of one JVP norm each.
    """
    chans = channels_for(channel)
    return cell_channel_rates(model, trajectory, cells, chans, chunk, progress, cancel).mean(axis=1)


def cell_channel_rates(
    model: DiffusionModel,
    trajectory: Trajectory,
    cells: list[tuple[int, int]],
    chans: list[int],
    chunk: int | None = None,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
) -> np.ndarray:
    """Exact rates per cell and channel: array P x len(chans) x N (one JVP each)."""
    rows, cols = trajectory.latents.shape[-2:]
    for r, c in cells:
        if not (0 <= r < rows and 0 <= c < cols):
            raise BadInputError(f"latent cell ({r}, {c}) is outside the {rows}x{cols} grid")
    directions = [(p, ch) for p in range(len(cells)) for ch in chans]
    n_steps = trajectory.latents.shape[0]
    out = torch.zeros(len(cells), len(chans), n_steps)
    per_call = chunk_size(model, chunk, (rows, cols))
    # batch the timesteps as the primal and the directions as vmapped tangents
    t_batch = max(1, min(n_steps, per_call))
    k_batch = max(1, per_call // t_batch)
    total = -(-n_steps // t_batch) * -(-len(directions) // k_batch)
    done = 0
    for n0 in range(0, n_steps, t_batch):
        xs = trajectory.latents[n0 : n0 + t_batch].to(model.device)
        ts = trajectory.schedule.timesteps[n0 : n0 + t_batch].to(model.device)
        for k0 in range(0, len(directions), k_batch):
            checkpoint(cancel)
            group = directions[k0 : k0 + k_batch]
            tangents = torch.zeros(len(group), *xs.shape, device=model.device, dtype=xs.dtype)
            for k, (p, ch) in enumerate(group):
                r, c = cells[p]
                tangents[k, :, ch, r, c] = 1.0
            norms = jvp_norms(model, xs, ts, tangents).cpu()
            for k, (p, ch) in enumerate(group):
                out[p, chans.index(ch), n0 : n0 + len(ts)] = norms[k]
            done += 1
            progress("curves", done, total)
    return out.numpy()


def region_rates(
    model: DiffusionModel,
    trajectory: Trajectory,
    latent_mask: np.ndarray,
    channel: int | None = None,
    chunk: int | None = None,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
) -> np.ndarray:
    """The curve of a region: the mean of the exact curves of every latent cell in the mask (N,)."""
    cells = [(int(r), int(c)) for r, c in zip(*np.nonzero(latent_mask))]
    if not cells:
        raise BadInputError("the mask is empty: no pixel is white (>= 128)")
    return cell_rates(model, trajectory, cells, channel, chunk, progress, cancel).mean(axis=0)
