"""Image <-> SD latent: the deterministic encoding of DESIGN §5 and decoding back to pixels."""

from __future__ import annotations

import numpy as np
import torch

from gencurve_desktop.engine.models import DiffusionModel


@torch.no_grad()
def encode_image(model: DiffusionModel, rgb: np.ndarray) -> torch.Tensor:
    """H x W x 3 uint8 (sides multiples of 8) -> latent 1 x 4 x H/8 x W/8: ``latent_dist.mean * scaling_factor``."""
    x = torch.tensor(rgb, dtype=torch.float32, device=model.device)  # a copy: read-only arrays are fine
    x = x.permute(2, 0, 1).unsqueeze(0) / 127.5 - 1.0
    return model.vae.encode(x).latent_dist.mean * model.scaling_factor


@torch.no_grad()
def decode_latent(model: DiffusionModel, z0: torch.Tensor) -> np.ndarray:
    """Latent 1 x 4 x h x w -> H x W x 3 uint8."""
    img = model.vae.decode(z0.to(model.device, torch.float32) / model.scaling_factor).sample
    img = ((img[0].clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8)
    return img.permute(1, 2, 0).cpu().numpy()
