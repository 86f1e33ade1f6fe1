"""The working-size rule: how an image of any size is framed for the model, and how coordinates map back.

Rule (DESIGN §5): an image whose longer side is at most ``max_side`` is used at its own scale; a larger
one is downscaled (area filter) so that its longer side is ``max_side``. The result is then padded on
the right and bottom, by reflecting edge pixels, up to multiples of ``multiple`` (64: the VAE's 8x and
the U-Net's 8x down-sampling). An image whose sides are multiples of 64 within the limit is therefore
processed unresized and unpadded. Image coordinates map to working coordinates by the scale alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from gencurve_desktop.errors import BadInputError

DEFAULT_MAX_SIDE = 1024
MULTIPLE = 64
LATENT_FACTOR = 8


@dataclass(frozen=True)
class Framing:
    """How an original image of ``size`` sits in the working canvas."""

    size: tuple[int, int]  # original (width, height)
    scaled: tuple[int, int]  # (width, height) after scaling, before padding
    working: tuple[int, int]  # padded (width, height), multiples of MULTIPLE

    @property
    def scale(self) -> float:
        return self.scaled[0] / self.size[0]

    @property
    def latent_shape(self) -> tuple[int, int]:
        """(rows, cols) of the latent grid."""
        return self.working[1] // LATENT_FACTOR, self.working[0] // LATENT_FACTOR

    def to_latent_cell(self, x: int, y: int) -> tuple[int, int]:
        """Image pixel (x, y) -> latent cell (row, col); raises BadInputError outside the image."""
        w, h = self.size
        if not (0 <= x < w and 0 <= y < h):
            raise BadInputError(f"pixel ({x}, {y}) is outside the {w}x{h} image")
        sx = min(int(x * self.scale), self.scaled[0] - 1)
        sy = min(int(y * self.scale), self.scaled[1] - 1)
        return sy // LATENT_FACTOR, sx // LATENT_FACTOR

    def frame_image(self, rgb: np.ndarray) -> np.ndarray:
        """Scale and pad an H x W x C image into the working canvas."""
        out = rgb
        if self.scaled != self.size:
            out = cv2.resize(rgb, self.scaled, interpolation=cv2.INTER_AREA)
        pad_w = self.working[0] - self.scaled[0]
        pad_h = self.working[1] - self.scaled[1]
        if pad_w or pad_h:
            mode = "reflect" if min(out.shape[:2]) > max(pad_w, pad_h) else "edge"
            pads = ((0, pad_h), (0, pad_w)) + ((0, 0),) * (out.ndim - 2)
            out = np.pad(out, pads, mode=mode)
        return np.ascontiguousarray(out)

    def frame_mask(self, mask: np.ndarray) -> np.ndarray:
        """Scale a bool mask into the working canvas (any-pixel rule); padding is outside the region."""
        m = mask.astype(np.float32)
        if self.scaled != self.size:  # area average: a working pixel is in when any original pixel under it is
            m = cv2.resize(m, self.scaled, interpolation=cv2.INTER_AREA)
        out = np.zeros((self.working[1], self.working[0]), dtype=bool)
        out[: self.scaled[1], : self.scaled[0]] = m > 0
        return out

    def latent_mask(self, mask: np.ndarray) -> np.ndarray:
        """Bool mask (original size) -> bool latent-grid mask: a cell is in when any of its pixels is."""
        m = self.frame_mask(mask)
        rows, cols = self.latent_shape
        return m.reshape(rows, LATENT_FACTOR, cols, LATENT_FACTOR).any(axis=(1, 3))

    def unframe(self, working: np.ndarray, interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
        """Working-canvas array -> original size (crop the padding, undo the scale)."""
        crop = working[: self.scaled[1], : self.scaled[0]]
        if self.scaled != self.size:
            crop = cv2.resize(crop, self.size, interpolation=interpolation)
        return np.ascontiguousarray(crop)


def frame_for(size: tuple[int, int], max_side: int = DEFAULT_MAX_SIDE) -> Framing:
    """The framing of an image of (width, height) = size under the working-size rule."""
    w, h = size
    if w < 1 or h < 1:
        raise BadInputError(f"image size {w}x{h} is empty")
    if max_side < MULTIPLE or max_side % MULTIPLE:
        raise BadInputError(f"the working-size limit must be a multiple of {MULTIPLE}, got {max_side}")
    scale = min(1.0, max_side / max(w, h))
    sw, sh = max(1, round(w * scale)), max(1, round(h * scale))
    pw = -(-sw // MULTIPLE) * MULTIPLE
    ph = -(-sh // MULTIPLE) * MULTIPLE
    return Framing(size=(w, h), scaled=(sw, sh), working=(pw, ph))
