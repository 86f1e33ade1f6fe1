"""Raster layers and their composite (straight-alpha "over", the OpenRaster default svg:src-over)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import numpy as np


def new_id() -> str:
    """A fresh unique id for a layer or an edit."""
    return uuid.uuid4().hex[:12]


@dataclass
class Layer:
    """One raster layer: canvas-sized RGBA pixels (uint8, straight alpha) and its display properties."""

    name: str
    pixels: np.ndarray  # H x W x 4 uint8
    visible: bool = True
    opacity: float = 1.0
    id: str = field(default_factory=new_id)
    edit_id: str | None = None  # the edit that produced this layer, if any
    extra_attrs: dict[str, str] = field(default_factory=dict)  # attributes from other editors, kept as read

    @classmethod
    def from_rgb(cls, name: str, rgb: np.ndarray, **kwargs) -> Layer:
        """An opaque layer from H x W x 3 uint8 pixels."""
        alpha = np.full(rgb.shape[:2] + (1,), 255, np.uint8)
        return cls(name, np.concatenate([rgb, alpha], axis=2), **kwargs)

    def copy(self) -> Layer:
        return Layer(
            self.name, self.pixels.copy(), self.visible, self.opacity, self.id, self.edit_id, dict(self.extra_attrs)
        )


def composite(layers: list[Layer], size: tuple[int, int], background=(255, 255, 255)) -> np.ndarray:
    """Flatten visible layers (bottom first) over an opaque background; returns H x W x 3 uint8.

    Straight-alpha source-over in float, rounded once at the end, so an opaque full-opacity top layer
    reproduces its pixels exactly.
    """
    w, h = size
    out = np.empty((h, w, 3), np.float64)
    out[:] = np.asarray(background, np.float64)
    for layer in layers:
        if not layer.visible or layer.opacity <= 0:
            continue
        a = layer.pixels[..., 3:4].astype(np.float64) / 255.0 * float(layer.opacity)
        out = layer.pixels[..., :3].astype(np.float64) * a + out * (1.0 - a)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)
