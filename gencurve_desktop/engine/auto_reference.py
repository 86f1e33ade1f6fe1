"""``--ref auto``: a reference pixel picked for the user, the calmest curve in a ring around the mask."""

from __future__ import annotations

import numpy as np
import torch

from gencurve_desktop.engine.cancel import CancelToken
from gencurve_desktop.engine.curves import CHANNELS, cell_channel_rates
from gencurve_desktop.engine.ddim import Trajectory
from gencurve_desktop.engine.framing import LATENT_FACTOR, Framing
from gencurve_desktop.engine.masks import ring
from gencurve_desktop.engine.models import DiffusionModel
from gencurve_desktop.engine.saliency import fluctuation
from gencurve_desktop.errors import BadInputError

#: Width of the ring searched by ``--ref auto``, image pixels.
AUTO_REF_RING_PX = 24
AUTO_REF_CANDIDATES = 12


def cell_center(framing: Framing, cell: tuple[int, int]) -> tuple[int, int]:
    """The image pixel (x, y) at the centre of latent cell (row, col)."""
    x = (cell[1] * LATENT_FACTOR + LATENT_FACTOR // 2) / framing.scale
    y = (cell[0] * LATENT_FACTOR + LATENT_FACTOR // 2) / framing.scale
    return min(int(x), framing.size[0] - 1), min(int(y), framing.size[1] - 1)


def spread_cells(cells: np.ndarray, count: int, seed: int) -> list[tuple[int, int]]:
    """``count`` distinct cells drawn (seeded) from ``cells``, in grid order."""
    idx = torch.randperm(len(cells), generator=torch.Generator().manual_seed(seed))[:count].sort().values
    return [tuple(int(v) for v in cells[i]) for i in idx]


def suggest_reference(
    model: DiffusionModel,
    inversion_traj: Trajectory,
    framing: Framing,
    mask: np.ndarray,
    cancel: CancelToken | None = None,
) -> tuple[int, int]:
    """``--ref auto``: the calmest curve (lowest fluctuation) among cells in a ring around the mask."""
    ring_cells = np.argwhere(framing.latent_mask(ring(mask, AUTO_REF_RING_PX)) & ~framing.latent_mask(mask))
    if len(ring_cells) == 0:
        raise BadInputError("no background around the mask to pick a reference from; click one instead")
    cand = spread_cells(ring_cells, AUTO_REF_CANDIDATES, 0)
    rates = cell_channel_rates(model, inversion_traj, cand, list(range(CHANNELS)), cancel=cancel).mean(1)
    fl = fluctuation(rates, inversion_traj.schedule.timesteps.numpy())
    return cell_center(framing, cand[int(np.argmin(fl))])
