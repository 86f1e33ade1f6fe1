"""numpy <-> QImage/QPixmap conversions."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage, QPixmap


def to_qimage(pixels: np.ndarray) -> QImage:
    """H x W x 3 or 4 uint8 (or H x W grey) -> a QImage that owns its memory."""
    a = np.ascontiguousarray(pixels)
    h, w = a.shape[:2]
    if a.ndim == 2:
        return QImage(a.data, w, h, w, QImage.Format_Grayscale8).copy()
    fmt = QImage.Format_RGB888 if a.shape[2] == 3 else QImage.Format_RGBA8888
    return QImage(a.data, w, h, a.shape[2] * w, fmt).copy()


def to_pixmap(pixels: np.ndarray) -> QPixmap:
    return QPixmap.fromImage(to_qimage(pixels))


def mask_overlay(mask: np.ndarray, color=(255, 48, 48, 110)) -> np.ndarray:
    """A bool mask as a semi-transparent RGBA overlay."""
    out = np.zeros(mask.shape + (4,), np.uint8)
    out[mask] = color
    return out


def soft_mask_overlay(weights: np.ndarray, color=(255, 48, 48, 110)) -> np.ndarray:
    """Blend weights in 0..1 (the feathered mask) as an RGBA overlay whose alpha follows the weight."""
    out = np.zeros(weights.shape + (4,), np.uint8)
    out[..., :3] = color[:3]
    out[..., 3] = np.rint(np.clip(weights, 0.0, 1.0) * color[3]).astype(np.uint8)
    return out


def heat_overlay(values: np.ndarray) -> np.ndarray:
    """A float map as an RGBA heat overlay (black-red-yellow), alpha following the value."""
    lo, hi = float(values.min()), float(values.max())
    v = np.zeros_like(values, dtype=np.float32) if hi <= lo else ((values - lo) / (hi - lo)).astype(np.float32)
    out = np.empty(values.shape + (4,), np.uint8)
    out[..., 0] = np.clip(v * 2.0, 0, 1) * 255
    out[..., 1] = np.clip(v * 2.0 - 1.0, 0, 1) * 255
    out[..., 2] = 0
    out[..., 3] = (80 + 175 * v).astype(np.uint8)
    return out
