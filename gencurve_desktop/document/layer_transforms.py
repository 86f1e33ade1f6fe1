"""Moving and scaling a layer's content, and placing a pasted image as a new layer — what Blend needs as its input
(an object pasted onto the photo, moved into place, then blended seam-free).

Layers are canvas-sized: content moved past the canvas edge is cut off (undo brings it back). Scaling resamples in
premultiplied alpha (OpenCV), so transparent pixels lend no colour to the edge, about the centre of the content's
bounding box. 16-bit layers (``deep``) are moved and scaled at 16 bits."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from gencurve_desktop.document.changes import Change
from gencurve_desktop.document.deep import to_8bit
from gencurve_desktop.document.document import Document
from gencurve_desktop.document.layers import Layer
from gencurve_desktop.errors import BadInputError

#: The scale factors a layer's content may be given in one step.
MIN_SCALE, MAX_SCALE = 0.05, 8.0


def shifted(pixels: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """``pixels`` (H x W x C) with their content moved by (dx, dy); what the move uncovers is transparent (0)."""
    h, w = pixels.shape[:2]
    out = np.zeros_like(pixels)
    xs, xd = (0, dx) if dx >= 0 else (-dx, 0)
    ys, yd = (0, dy) if dy >= 0 else (-dy, 0)
    cw, ch = w - abs(dx), h - abs(dy)
    if cw > 0 and ch > 0:
        out[yd : yd + ch, xd : xd + cw] = pixels[ys : ys + ch, xs : xs + cw]
    return out


def content_box(pixels: np.ndarray) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1) of the pixels with any alpha, or None for a fully transparent layer."""
    alpha = pixels[..., 3] > 0
    rows, cols = np.flatnonzero(alpha.any(axis=1)), np.flatnonzero(alpha.any(axis=0))
    if not len(rows):
        return None
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def _resample(rgba: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """RGBA (uint8 or uint16, straight alpha) resized to ``size`` (w, h) in premultiplied alpha."""
    top = float(np.iinfo(rgba.dtype).max)
    f = rgba.astype(np.float32) / top
    f[..., :3] *= f[..., 3:4]
    grow = size[0] > rgba.shape[1]
    r = cv2.resize(f, size, interpolation=cv2.INTER_CUBIC if grow else cv2.INTER_AREA)
    r = np.clip(r, 0.0, 1.0)
    a = r[..., 3:4]
    r[..., :3] = np.where(a > 0, r[..., :3] / np.maximum(a, 1e-12), 0.0)
    return np.rint(np.clip(r, 0.0, 1.0) * top).astype(rgba.dtype)


def scaled(pixels: np.ndarray, factor: float) -> np.ndarray:
    """``pixels`` (canvas-sized RGBA) with their content scaled by ``factor`` about its bounding box's centre."""
    if not (MIN_SCALE <= factor <= MAX_SCALE):
        raise BadInputError(f"scale must be within {MIN_SCALE:g}..{MAX_SCALE:g}, got {factor:g}")
    box = content_box(pixels)
    if box is None:
        return pixels.copy()
    x0, y0, x1, y1 = box
    w, h = max(1, round((x1 - x0) * factor)), max(1, round((y1 - y0) * factor))
    content = _resample(pixels[y0:y1, x0:x1], (w, h))
    out = np.zeros_like(pixels)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    _paste(out, content, round(cx - w / 2), round(cy - h / 2))
    return out


def _paste(canvas: np.ndarray, content: np.ndarray, x: int, y: int) -> None:
    """Write ``content`` at (x, y) into ``canvas``, clipped to its edges."""
    H, W = canvas.shape[:2]
    h, w = content.shape[:2]
    cx0, cy0 = max(0, -x), max(0, -y)
    x0, y0, x1, y1 = max(0, x), max(0, y), min(W, x + w), min(H, y + h)
    if x1 > x0 and y1 > y0:
        canvas[y0:y1, x0:x1] = content[cy0 : cy0 + (y1 - y0), cx0 : cx0 + (x1 - x0)]


def placed(image: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, float]:
    """A pasted RGBA image (h x w x 4 uint8) centred on a transparent canvas of ``size`` (width, height), scaled
    down to fit when it is larger: (canvas-sized RGBA, the scale used)."""
    if image.ndim != 3 or image.shape[2] != 4 or image.dtype != np.uint8 or image.size == 0:
        raise BadInputError("a pasted image must be RGBA uint8")
    W, H = size
    factor = min(1.0, W / image.shape[1], H / image.shape[0])
    if factor < 1.0:
        image = _resample(image, (max(1, round(image.shape[1] * factor)), max(1, round(image.shape[0] * factor))))
    out = np.zeros((H, W, 4), np.uint8)
    _paste(out, image, (W - image.shape[1]) // 2, (H - image.shape[0]) // 2)
    return out, factor


@dataclass
class TransformLayer(Change):
    """Move a layer's content by (dx, dy) and/or scale it by ``factor`` (one undo step); keeps the old pixels."""

    layer_id: str
    dx: int = 0
    dy: int = 0
    factor: float = 1.0
    label: str = "Move layer"
    old: tuple | None = None

    def _transformed(self, pixels: np.ndarray) -> np.ndarray:
        out = shifted(pixels, self.dx, self.dy) if (self.dx or self.dy) else pixels
        return scaled(out, self.factor) if self.factor != 1.0 else out.copy()

    def apply(self, doc: Document) -> None:
        layer: Layer = doc.layers[doc.layer_index(self.layer_id)]
        deep = layer.deep  # authoritative: the 8-bit pixels are its nearest values, after the transform too
        new_deep = None if deep is None else self._transformed(deep)  # may raise: the layer is left as it was
        new_pixels = self._transformed(layer.pixels) if deep is None else to_8bit(new_deep)
        self.old = (layer.pixels, deep)
        layer.pixels = new_pixels
        if deep is not None:
            layer.deep = new_deep

    def revert(self, doc: Document) -> None:
        layer = doc.layers[doc.layer_index(self.layer_id)]
        layer.pixels = self.old[0]
        if self.old[1] is not None:
            layer.deep = self.old[1]
