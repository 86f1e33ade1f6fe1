"""What the canvas previews with the engine's own geometry: the feathered edge an edit will blend with, so the mask
overlay shows the edge the result will have (engine/masks.py: feather_alpha)."""

from __future__ import annotations

import numpy as np

from gencurve_desktop.engine.masks import feather_alpha


def feathered_mask(mask: np.ndarray, feather_px: int) -> tuple[np.ndarray, tuple[int, int]]:
    """The edit's blend weight around ``mask`` (bool H x W) for ``feather_px``, computed only in the mask's
    bounding box grown by the feather: (float32 weights of that box, its (x, y) offset). An empty mask gives an
    empty box at (0, 0)."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if not len(rows):
        return np.zeros((0, 0), np.float32), (0, 0)
    pad = max(0, int(feather_px)) + 1
    y0, y1 = max(0, rows[0] - pad), min(mask.shape[0], rows[-1] + pad + 1)
    x0, x1 = max(0, cols[0] - pad), min(mask.shape[1], cols[-1] + pad + 1)
    return feather_alpha(mask[y0:y1, x0:x1], feather_px), (int(x0), int(y0))
