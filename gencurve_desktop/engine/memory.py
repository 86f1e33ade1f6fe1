"""How many directions one JVP / VJP call may carry, from the tensor sizes and the device's free memory.

Forward- and reverse-mode derivatives run attention with the math kernel (DESIGN §2), so every self-attention
layer materialises its scores, heads x tokens², for the primal and for each tangent or cotangent. At 512² with
SD 2.x (64 x 64 latent, 4 096 tokens at the first level, 5 heads) that is 335 MB per tensor in fp32: a fixed
table of 256 directions per call would need more than 80 GB. The batch size is therefore

    min(speed cap of the device, usable free memory / estimated bytes per direction),

where the speed cap is the batch beyond which this device gains nothing (measured, see ``SPEED_CAP``).
"""

from __future__ import annotations

import os
import sys

import torch

from gencurve_desktop.engine.models import DiffusionModel

#: Directions per call beyond which a device gains no speed (measured on the 2-core CPU: batched JVPs gain up
#: to 64, vmapped VJPs are fastest in small groups); memory may lower these, never raise them.
SPEED_CAP = {"jvp": {"cpu": 64, "mps": 64, "cuda": 256}, "vjp": {"cpu": 8, "mps": 32, "cuda": 64}}
#: Score-sized tensors alive per direction in one attention layer: scores and softmax, for the tangent (and the
#: primal's share); a deliberately generous count.
SCORE_TENSORS = 4
#: Feature maps of the widest level alive per direction (residuals, norms, convolution outputs).
FEATURE_MAPS = 24
#: The share of free memory a call may use: the rest covers the allocator's slack and the primal pass.
USABLE_SHARE = {"cuda": 0.6, "mps": 0.5, "cpu": 0.5}


def _as_list(value, levels: int) -> list[int]:
    return list(value) if isinstance(value, (list, tuple)) else [value] * levels


def bytes_per_direction(model: DiffusionModel, latent_hw: tuple[int, int]) -> int:
    """Estimated peak bytes one tangent/cotangent adds to a JVP/VJP call at this latent size."""
    cfg = model.unet.config
    widths = list(cfg.block_out_channels)
    kinds = list(cfg.down_block_types)
    heads = _as_list(cfg.num_attention_heads or cfg.attention_head_dim, len(widths))
    item = torch.finfo(model.dtype).bits // 8
    rows, cols = latent_hw
    worst = 0
    for level, (width, kind) in enumerate(zip(widths, kinds)):
        tokens = -(-rows // 2**level) * -(-cols // 2**level)
        scores = heads[level] * tokens * tokens if "CrossAttn" in kind else 0
        worst = max(worst, SCORE_TENSORS * scores + FEATURE_MAPS * width * tokens)
    return worst * item


def free_bytes(device: torch.device) -> int | None:
    """Free memory on ``device`` now (bytes), or None when the platform does not say."""
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    if device.type == "mps":
        return int(torch.mps.recommended_max_memory() - torch.mps.driver_allocated_memory())
    return _host_available()


def _host_available() -> int | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    if sys.platform != "win32" and hasattr(os, "sysconf"):
        try:
            return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError):
            return None
    return None


def directions_per_call(
    model: DiffusionModel, latent_hw: tuple[int, int], kind: str = "jvp", free: int | None = None
) -> int:
    """Directions (timestep x tangent pairs) one JVP/VJP call may carry here: the device's speed cap, lowered
    until the estimated memory fits in the usable share of ``free`` (measured now when not given)."""
    dev = model.device.type
    cap = SPEED_CAP[kind].get(dev, 8)
    free = free_bytes(model.device) if free is None else free
    if free is None:
        return cap
    budget = USABLE_SHARE.get(dev, 0.5) * free
    return max(1, min(cap, int(budget // bytes_per_direction(model, latent_hw))))
