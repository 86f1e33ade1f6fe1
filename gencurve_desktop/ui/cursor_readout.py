"""The status bar's reading under the cursor: the pixel's coordinates and, while the saliency map is shown, its
value there with its rank in the map (as Krita's colour sampler and IOPaint's readouts show values)."""

from __future__ import annotations

import numpy as np


class CursorReadout:
    """Formats the reading; keeps the shown map's sorted values for the rank (sorted once per map)."""

    def __init__(self) -> None:
        self._map: np.ndarray | None = None
        self._sorted: np.ndarray | None = None

    def text(self, x: int, y: int, saliency: np.ndarray | None, shown: bool) -> str:
        """ "x 12  y 40", with "· saliency 0.0123 (top 8 %)" when the map is shown and the pixel is on it."""
        if x < 0 or y < 0:
            return ""
        out = f"x {x}  y {y}"
        if not shown or saliency is None or not (y < saliency.shape[0] and x < saliency.shape[1]):
            return out
        if saliency is not self._map:
            self._map, self._sorted = saliency, np.sort(saliency[np.isfinite(saliency)], axis=None)
        value = float(saliency[y, x])
        if not np.isfinite(value) or not len(self._sorted):
            return out
        at_or_above = len(self._sorted) - int(np.searchsorted(self._sorted, value, side="left"))
        top = max(1, int(np.ceil(100 * at_or_above / len(self._sorted))))  # the share of the map at least as salient
        return f"{out}  ·  saliency {value:.4g} (top {top} %)"
