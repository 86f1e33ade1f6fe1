"""Which part of the photo an edit works on (issue 22): the whole image, or a window around the mask.

``whole`` frames the whole photo for the model (downscaled to ``max_side``). ``crop`` works on a window around
the mask's bounding box (and the reference pixel, when the task uses one) with a context margin, at least the
model's native size (the U-Net's ``sample_size`` × 8: 512 for SD 2.1-base, 256 for mini) and snapped to 64;
the window is framed at no more than the native size, so a small region of a 24-megapixel photo is edited at
full detail and a mask larger than one window is framed downscaled. The result is pasted back into the photo:
everything outside the window, and outside the feather inside it, is untouched. ``auto`` (the default) is
``crop`` when the photo is larger than the native size, else ``whole``. IOPaint's "Crop" HD strategy is the
anchor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from gencurve_desktop.engine.edit_reports import EditProgress, EditResult
from gencurve_desktop.engine.framing import LATENT_FACTOR, MULTIPLE
from gencurve_desktop.engine.models import DiffusionModel
from gencurve_desktop.engine.requests import EditRequest

REGIONS = ("auto", "crop", "whole")
#: context around the mask's bounding box, as a fraction of its longer side (at least ``MIN_MARGIN_PX``)
MARGIN_FRACTION = 0.25
MIN_MARGIN_PX = 32


@dataclass(frozen=True)
class Window:
    """A rectangle of the photo, [x0, x1) x [y0, y1)."""

    x0: int
    y0: int
    x1: int
    y1: int

    def crop(self, array: np.ndarray) -> np.ndarray:
        """The window's part of an H x W (x C) array, as a contiguous copy."""
        return np.ascontiguousarray(array[self.y0 : self.y1, self.x0 : self.x1])

    def paste(self, full: np.ndarray, part: np.ndarray) -> np.ndarray:
        """A copy of ``full`` with ``part`` in the window."""
        out = full.copy()
        out[self.y0 : self.y1, self.x0 : self.x1] = part
        return out

    def to_window(self, x: int, y: int) -> tuple[int, int]:
        return x - self.x0, y - self.y0

    def to_photo(self, x: int, y: int) -> tuple[int, int]:
        return x + self.x0, y + self.y0

    def as_list(self) -> list[int]:
        return [self.x0, self.y0, self.x1, self.y1]


def native_side(model: DiffusionModel) -> int:
    """The model's native working size in pixels (``sample_size`` × 8), a multiple of 64."""
    side = int(getattr(model.unet.config, "sample_size", 64)) * LATENT_FACTOR
    return max(MULTIPLE, side // MULTIPLE * MULTIPLE)


def _span(lo: int, hi: int, want: int, limit: int) -> tuple[int, int]:
    """An interval of length ``want`` (at most ``limit``) centred on [lo, hi), moved inside [0, limit)."""
    want = min(want, limit)
    start = (lo + hi) // 2 - want // 2
    start = min(max(0, start), limit - want)
    return start, start + want


def choose_window(
    size: tuple[int, int], mask: np.ndarray, ref: tuple[int, int] | None, region: str, native: int, feather_px: int
) -> Window | None:
    """The window an edit works on, or None for the whole photo. ``ref``: a reference pixel the window must hold."""
    w, h = size
    if region == "whole" or (region == "auto" and max(w, h) <= native):
        return None
    ys, xs = np.nonzero(mask)
    x0, x1, y0, y1 = int(xs.min()), int(xs.max()) + 1, int(ys.min()), int(ys.max()) + 1
    if ref is not None:  # the reference's curve must come from the same window
        x0, x1 = min(x0, ref[0]), max(x1, ref[0] + 1)
        y0, y1 = min(y0, ref[1]), max(y1, ref[1] + 1)
    margin = max(MIN_MARGIN_PX, feather_px * 2, round(MARGIN_FRACTION * max(x1 - x0, y1 - y0)))
    snap = lambda n: -(-n // MULTIPLE) * MULTIPLE  # noqa: E731
    want_w = max(native, snap(x1 - x0 + 2 * margin))
    want_h = max(native, snap(y1 - y0 + 2 * margin))
    wx0, wx1 = _span(x0, x1, want_w, w)
    wy0, wy1 = _span(y0, y1, want_h, h)
    window = Window(wx0, wy0, wx1, wy1)
    if (wx1 - wx0, wy1 - wy0) == (w, h) or window.crop(mask).all():
        return None  # the window would be the whole photo (or hold no context): frame the whole photo
    return window


def run_in_window(
    run: Callable, model: DiffusionModel, request: EditRequest, window: Window, uses_ref: bool, on_progress, cancel
) -> EditResult:
    """``run`` (the edit) on the window's pixels at up to the native size, pasted back into the photo (its
    previews too); the reference and the provenance are in photo coordinates, with the window recorded."""
    p = request.params
    ref = window.to_window(*request.ref) if uses_ref else ("auto" if request.ref == "auto" else None)
    inner = replace(p, max_side=min(p.max_side, native_side(model)))
    sub = EditRequest(request.task, window.crop(request.image), window.crop(request.mask), ref, inner)

    def progress(ev: EditProgress) -> None:
        if ev.preview is not None:
            ev = replace(ev, preview=window.paste(request.image, ev.preview))
        on_progress(ev)

    result = run(model, sub, progress if on_progress is not None else None, cancel, None)
    return replace(
        result,
        image=window.paste(request.image, result.image),
        mask=request.mask.copy(),
        ref=window.to_photo(*result.ref) if result.ref else None,
        params={**result.params, "max_side": p.max_side, "window": window.as_list()},
    )
