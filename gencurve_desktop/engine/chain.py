"""The DDIM chain x_T -> x_t with the localised modification, and the ways a loss at x_t reaches x_T.

How gradients reach x_T from x_t (docs/method.md "How gradients reach x_T"):
- ``backprop`` (default): backpropagation through the DDIM chain x_T -> x_t, with activation checkpointing per
  step (memory: the n latents of the chain plus one U-Net step, whatever n is). Its direction is the true one,
  and the loss it reports is the loss at the true x_t(x_T).
- ``linearised`` (opt-in, faster): x_t(x_T) = x_t^cache + g_t (x_T - x_T^cache) with the DDIM noise gain
  g_t = sqrt(1 - a_t) / sqrt(1 - a_T), the cache regenerated every k iterations. One JVP and its reverse pass
  per iteration, but its gradient points elsewhere (cosine 0.4-0.6 with the true one on the demo model) and
  its loss is the loss at the extrapolated state, so the report labels it as an estimate.
"""

from __future__ import annotations

import functools

import torch

from gencurve_desktop.engine import ddim
from gencurve_desktop.engine.cancel import checkpoint
from gencurve_desktop.engine.hspace import ad_attention


def generate_blended(model, x_T, orig: torch.Tensor, blend: torch.Tensor, schedule, t_blend, cancel=None):
    """x_T -> (trajectory N x 4 x h x w, z0), keeping the original outside the mask while t >= t_blend."""
    ts = schedule.timesteps
    x = x_T
    if ts[0] >= t_blend:
        x = (1 - blend) * orig[0:1] + blend * x
    out = [x[0]]
    with torch.no_grad():
        for n in range(len(schedule)):
            checkpoint(cancel)
            x = ddim.generate_step(model, x, schedule, n)
            if n + 1 < len(schedule):
                if ts[n + 1] >= t_blend:
                    x = (1 - blend) * orig[n + 1 : n + 2] + blend * x
                out.append(x[0])
    return torch.stack(out), x


def _blends_at(schedule, t_blend: int | None, m: int) -> bool:
    """Whether the chain blends with the original at trajectory index m (never when ``t_blend`` is None: the
    paper's every-k schedule, where only x_T is blended, every k iterations, outside the differentiable chain)."""
    return t_blend is not None and bool(schedule.timesteps[m] >= t_blend)


def _generate_to(model, orig, blend, schedule, t_blend, n: int, x_T: torch.Tensor) -> torch.Tensor:
    """x_T -> x_t at trajectory index n (blended at t >= t_blend unless it is None), differentiably."""
    x = (1 - blend) * orig[0:1] + blend * x_T if _blends_at(schedule, t_blend, 0) else x_T
    for m in range(n):
        x = ddim.generate_step(model, x, schedule, m)
        if _blends_at(schedule, t_blend, m + 1):
            x = (1 - blend) * orig[m + 1 : m + 2] + blend * x
    return x


def _loss_through_chain(loss_at, model, orig, blend, schedule, t_blend, n, x_T):
    return loss_at(_generate_to(model, orig, blend, schedule, t_blend, n, x_T))


def grad_full(loss_at, model, orig, blend, schedule, t_blend, n, x_T) -> tuple[torch.Tensor, torch.Tensor]:
    """dL/dx_T and L by plain reverse mode through the whole chain, every activation kept (the reference)."""
    through_chain = functools.partial(_loss_through_chain, loss_at, model, orig, blend, schedule, t_blend, n)
    with ad_attention():
        return torch.func.grad_and_value(through_chain)(x_T.detach())


def grad_checkpointed(
    loss_at, model, orig, blend, schedule, t_blend, n, x_T, checkpointing: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """dL/dx_T and L through the chain x_T -> x_t; with ``checkpointing`` each DDIM step's activations are
    recomputed in the backward pass (memory: one step's), else all are kept (faster when they fit).

    The chain's attention runs on the fused kernels; only the loss's forward-mode JVP (``tasks.rate``) needs the
    math kernel, and it asks for it itself."""
    from torch.utils.checkpoint import checkpoint as recompute

    def step(x: torch.Tensor, m: int) -> torch.Tensor:
        x = ddim.generate_step(model, x, schedule, m)
        return (1 - blend) * orig[m + 1 : m + 2] + blend * x if _blends_at(schedule, t_blend, m + 1) else x

    x0 = x_T.detach().requires_grad_(True)
    with torch.enable_grad():
        x = (1 - blend) * orig[0:1] + blend * x0 if _blends_at(schedule, t_blend, 0) else x0
        for m in range(n):
            x = recompute(step, x, m, use_reentrant=False) if checkpointing else step(x, m)
        loss = loss_at(x)
        (grad,) = torch.autograd.grad(loss, x0)
    return grad, loss.detach()


def grad_linearised(loss_at, cache, gains, x_T_cache, n, x_T) -> tuple[torch.Tensor, torch.Tensor]:
    """dL/dx_T and L under x_t = x_t^cache + g_t (x_T - x_T^cache): fast, an approximation (see module doc)."""
    x_t = (cache[n : n + 1] + gains[n] * (x_T.detach() - x_T_cache)).detach()
    with ad_attention():
        grad_xt, loss = torch.func.grad_and_value(loss_at)(x_t)
    return gains[n] * grad_xt, loss
