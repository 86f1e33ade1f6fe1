"""The inversion of the picture in hand, kept so that curves, saliency maps and edits of it share one."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import numpy as np

from gencurve_desktop.engine.cancel import CancelToken, ProgressFn, no_progress

if TYPE_CHECKING:
    from gencurve_desktop.engine.analysis import Inversion
    from gencurve_desktop.engine.models import DiffusionModel


class InversionCache:
    """One inversion at a time (trajectories of large images are big), keyed by the model, the image's bytes,
    the step count and the working-size limit."""

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._inversion: Inversion | None = None

    def get(
        self,
        model: DiffusionModel,
        image: np.ndarray,
        steps: int,
        max_side: int = 1024,
        progress: ProgressFn = no_progress,
        cancel: CancelToken | None = None,
    ) -> Inversion:
        """The inversion of ``image`` by ``model``: the kept one if it matches, else computed now (and kept)."""
        from gencurve_desktop.engine.analysis import invert_image

        key = (id(model), hashlib.sha1(image.tobytes()).hexdigest(), image.shape, steps, max_side)
        if key != self._key or self._inversion is None:
            self.clear()
            self._inversion = invert_image(model, image, steps, max_side, progress, cancel)
            self._key = key
        return self._inversion

    def clear(self) -> None:
        """Forget the kept inversion (a new model was loaded)."""
        self._key, self._inversion = None, None
