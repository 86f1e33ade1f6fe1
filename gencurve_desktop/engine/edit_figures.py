"""An edit's before/after figures, measured on an image (issue 26): the image is framed, encoded and inverted
afresh, and the curves of Ω's report cells (and of the reference pixel) are taken on that inversion path.

The same function measures the input before the edit and the output after it, so the two figures compare like
with like, and an edit whose output equals its input reports no change at all. The optimiser's own trajectory
figures (what the loss saw) are reported beside these, labelled as such, by ``engine.matching``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gencurve_desktop.engine import ddim, latents
from gencurve_desktop.engine.cancel import CancelToken
from gencurve_desktop.engine.curves import CHANNELS, cell_channel_rates
from gencurve_desktop.engine.framing import Framing
from gencurve_desktop.engine.models import DiffusionModel
from gencurve_desktop.engine.saliency import fluctuation

#: Cells of Ω averaged for the measured region curve (the representative cell s is one of them); fewer when Ω
#: has fewer cells.
MEASURED_CELLS = 8


@dataclass(frozen=True)
class Figures:
    """The region's curve (mean over cells and channels), the reference's, their distance over t >= t_min (to the
    pseudo curve 0 for remove without a reference; None for saliency and blend) and the region's fluctuation."""

    region_curve: np.ndarray
    reference_curve: np.ndarray | None
    curve_distance: float | None
    fluctuation: float


def figures_from_rates(
    region_rates: np.ndarray, ref_rates: np.ndarray | None, timesteps: np.ndarray, t_min: int, pseudo: bool
) -> Figures:
    """Figures from P x C x N region rates and C x N reference rates (or None); ``pseudo``: remove without q."""
    region_curve = region_rates.mean(axis=(0, 1))
    ref_curve = None if ref_rates is None else ref_rates.mean(0)
    keep = timesteps >= t_min
    if ref_curve is not None:
        dist = float(np.abs(region_curve - ref_curve)[keep].mean())
    elif pseudo:
        dist = float(region_curve[keep].mean())
    else:
        dist = None
    return Figures(region_curve, ref_curve, dist, float(fluctuation(region_curve, timesteps, t_min)))


def measure_image(
    model: DiffusionModel,
    image: np.ndarray,
    framing: Framing,
    schedule: ddim.Schedule,
    cells: list[tuple[int, int]],
    ref_cell: tuple[int, int] | None,
    t_min: int,
    pseudo: bool,
    cancel: CancelToken | None = None,
    trajectory: ddim.Trajectory | None = None,
) -> Figures:
    """Encode and invert ``image`` (or use ``trajectory``, its inversion), then the figures of ``cells``."""
    # 1. the image's own inversion path
    if trajectory is None:
        z0 = latents.encode_image(model, framing.frame_image(image))
        trajectory = ddim.invert(model, z0, schedule, cancel=cancel)
    # 2. every channel's rates of the region cells and the reference cell, in one batched call
    wanted = list(cells) + ([ref_cell] if ref_cell is not None else [])
    rates = cell_channel_rates(model, trajectory, wanted, list(range(CHANNELS)), cancel=cancel)
    # 3. the figures
    ref_rates = rates[len(cells)] if ref_cell is not None else None
    return figures_from_rates(rates[: len(cells)], ref_rates, schedule.timesteps.numpy(), t_min, pseudo)
