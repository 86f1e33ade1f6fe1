"""h-space: the U-Net mid-block output h_t(x), and its Jacobian-vector products (paper Eq. 10)."""

from __future__ import annotations

import contextlib

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

from gencurve_desktop.engine.models import DiffusionModel
from gencurve_desktop.engine.precision import computing


def h_space(model: DiffusionModel, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """The mid-block output h_t(x) for a batch x (B x 4 x h x w) at timesteps t (B,), in x's dtype.

    Runs only the U-Net's encoder half (time embedding, conv_in, down blocks, mid block).
    """
    unet = model.unet
    sample = x.to(model.weight_dtype)
    timesteps = t.to(model.device).expand(sample.shape[0])
    cond = model.empty_cond.expand(sample.shape[0], -1, -1)
    with computing(model, "h-space"):
        emb = unet.time_embedding(unet.get_time_embed(sample=sample, timestep=timesteps), None)
        h = unet.conv_in(sample)
        for block in unet.down_blocks:
            if getattr(block, "has_cross_attention", False):
                h, _ = block(hidden_states=h, temb=emb, encoder_hidden_states=cond)
            else:
                h, _ = block(hidden_states=h, temb=emb)
        h = unet.mid_block(h, emb, encoder_hidden_states=cond)
    return h.to(x.dtype)


def ad_attention() -> contextlib.AbstractContextManager:
    """Attention through the math SDPA kernel while differentiating.

    The fused kernels (flash / memory-efficient) have no forward-mode AD, and under ``vmap`` their
    backward falls back to a per-sample loop; the math kernel supports both and batches.
    """
    return sdpa_kernel([SDPBackend.MATH])


def jvp_norms(model: DiffusionModel, x: torch.Tensor, t: torch.Tensor, tangents: torch.Tensor) -> torch.Tensor:
    """||J_h(x_b) v_kb||_2 for a primal batch x (B x 4 x h x w) and K tangents per sample (K x B x 4 x h x w).

    One forward-mode pass per tangent, batched with ``torch.func.vmap`` (the primal is shared).
    Returns K x B in float32.
    """

    def push(v: torch.Tensor) -> torch.Tensor:
        _, jv = torch.func.jvp(lambda z: h_space(model, z, t), (x,), (v,))
        return jv.float().flatten(1).norm(dim=1)

    with ad_attention():
        if tangents.shape[0] == 1:
            return push(tangents[0]).unsqueeze(0)
        return torch.func.vmap(push)(tangents)


def vjp_columns(model: DiffusionModel, x: torch.Tensor, t: torch.Tensor, cotangents: torch.Tensor) -> torch.Tensor:
    """J_h(x_b)^T u_kb for a primal batch x (B x 4 x h x w) and K cotangents (K x B x C' x h' x w').

    Returns K x B x 4 x h x w (x's dtype).
    """
    with ad_attention():
        _, pull = torch.func.vjp(lambda z: h_space(model, z, t), x)
        return torch.func.vmap(lambda u: pull(u)[0])(cotangents)


def h_shape(model: DiffusionModel, latent_hw: tuple[int, int]) -> tuple[int, int, int]:
    """Shape (C', h', w') of h-space for a latent of (rows, cols)."""
    x = torch.zeros(1, 4, *latent_hw, device=model.device, dtype=model.weight_dtype)
    with torch.no_grad():
        return tuple(h_space(model, x, torch.tensor([500], device=model.device)).shape[1:])


def warm_up(model: DiffusionModel) -> None:
    """One tiny JVP and VJP, so torch.func's one-time set-up does not happen in the middle of a user's job."""
    x = torch.zeros(1, 4, 8, 8, device=model.device, dtype=model.weight_dtype)
    t = torch.tensor([500], device=model.device)
    jvp_norms(model, x, t, torch.ones(1, *x.shape, device=model.device, dtype=model.weight_dtype))
    u = torch.ones(1, *((1,) + h_shape(model, (8, 8))), device=model.device, dtype=model.weight_dtype)
    vjp_columns(model, x, t, u)
