"""The per-task losses of curve matching (DESIGN §2 "Task losses"), as functions of x_t."""

from __future__ import annotations

import torch

from gencurve_desktop.engine.hspace import h_space
from gencurve_desktop.engine.models import DiffusionModel

#: +1 lowers the generation rate (less salient), -1 raises it.
SALIENCY_SIGN = {"saliency-up": -1.0, "saliency-down": 1.0, "blend": 1.0}


def uses_reference(task: str, has_ref: bool) -> bool:
    """Tasks whose loss matches a reference curve (the others shape the rate itself)."""
    return task == "transfer" or (task == "remove" and has_ref)


def rate(model: DiffusionModel, x: torch.Tensor, t: torch.Tensor, cell: tuple[int, int], channel: int):
    """r_t(x, e) = ||J_h(x) e|| for the one-hot e at (channel, cell); differentiable in x."""
    e = torch.zeros_like(x)
    e[0, channel, cell[0], cell[1]] = 1.0
    _, jv = torch.func.jvp(lambda z: h_space(model, z, t), (x,), (e,))
    return jv.float().norm()


def decoder_features(model: DiffusionModel, x: torch.Tensor, t: torch.Tensor) -> list[torch.Tensor]:
    """F(x_t): the outputs of the U-Net's decoder (up) blocks, except the last, full-resolution one."""
    feats: list[torch.Tensor] = []
    hooks = [b.register_forward_hook(lambda mod, i, o: feats.append(o)) for b in model.unet.up_blocks[:-1]]
    try:
        cond = model.empty_cond.expand(x.shape[0], -1, -1)
        model.unet(x.to(model.dtype), t, encoder_hidden_states=cond)
    finally:
        for h in hooks:
            h.remove()
    return feats


def task_loss(
    task: str,
    model: DiffusionModel,
    x: torch.Tensor,
    *,
    t: torch.Tensor,
    cell: tuple[int, int],
    channel: int,
    target: float | None,
    lam: float,
    features_orig: list[torch.Tensor] | None,
) -> torch.Tensor:
    """The loss of one iteration at x_t (1 x 4 x h x w).

    transfer / remove with q: |r - c_ref(t)|; remove without q: r (the pseudo curve is 0 above t_min);
    saliency-up/down and blend: s * r + lam * RMS(F(x_t) - F(x_t^orig)).
    """
    r = rate(model, x, t, cell, channel)
    if task in ("transfer", "remove"):
        return (r - target).abs() if target is not None else r
    loss = SALIENCY_SIGN[task] * r
    if lam > 0 and features_orig is not None:
        feats = decoder_features(model, x, t)
        diffs = [(f.float() - g.float()).pow(2).mean() for f, g in zip(feats, features_orig)]
        loss = loss + lam * torch.stack(diffs).mean().sqrt()
    return loss
