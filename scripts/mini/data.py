"""Training crops for `mini`: random crops of the training photos at a few scales, randomly flipped.

Deterministic for a seed: the same photos and seed give the same crops, byte for byte (Pillow's LANCZOS and
numpy's PCG64 are exact), so a re-run from scratch sees the same data as the shipped run.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageOps
from sources import Photo

SCALES = (1.0, 1.5, 2.0, 3.0, 4.0)  # the photo's short side, in crop sizes


def load_rgb(path) -> Image.Image:
    """The photo upright (EXIF orientation applied) in 8-bit RGB."""
    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im)
        return im.convert("RGB")


def build_crops(photos: list[Photo], size: int, per_scale: int, seed: int) -> np.ndarray:
    """``len(photos) × len(SCALES) × per_scale`` crops of ``size``² as uint8 N×H×W×3, in a seeded order."""
    rng = np.random.default_rng(seed)
    crops = []
    for photo in photos:
        full = load_rgb(photo.path)
        for scale in SCALES:
            short = int(round(size * scale))
            factor = short / min(full.size)
            if factor > 1.0:
                continue  # never upsample: a small photo gives fewer scales
            im = full.resize((max(size, round(full.width * factor)), max(size, round(full.height * factor))),
                             Image.LANCZOS)  # fmt: skip
            a = np.asarray(im)
            for _ in range(per_scale):
                y = int(rng.integers(0, a.shape[0] - size + 1))
                x = int(rng.integers(0, a.shape[1] - size + 1))
                crop = a[y : y + size, x : x + size]
                crops.append(crop[:, ::-1] if rng.random() < 0.5 else crop)
    out = np.stack(crops)
    return out[rng.permutation(len(out))]
