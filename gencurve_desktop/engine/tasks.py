"""The per-task losses of curve matching (DESIGN §2 "Task losses"), as functions of x_t."""

from __future__ import annotations

import torch

from gencurve_desktop.engine.hspace import ad_attention, h_space
from gencurve_desktop.engine.models import DiffusionModel
from gencurve_desktop.engine.precision import computing

#: +1 lowers the generation rate (less salient), -1 raises it.
SALIENCY_SIGN = {"saliency-up": -1.0, "saliency-down": 1.0, "blend": 1.0}


def uses_reference(task: str, has_ref: bool) -> bool:
    """Tasks whose loss matches a reference curve (the others shape the rate itself)."""
    return task == "transfer" or (task == "remove" and has_ref)


def rate(model: DiffusionModel, x: torch.Tensor, t: torch.Tensor, cell: tuple[int, int], channel: int):
    """r_t(x, e) = ||J_h(x) e|| for the one-hot e at (channel, cell); differentiable in x."""
    e = torch.zeros_like(x)
    e[0, channel, cell[0], cell[1]] = 1.0
    with ad_attention():  # forward-mode AD has no fused attention kernel
        _, jv = torch.func.jvp(lambda z: h_space(model, z, t), (x,), (e,))
    return jv.float().norm()


#: The decoder (up) blocks each feature term compares: DragonDiffusion's second and third (clipped to the blocks a
#: small U-Net has), or every block but the last, full-resolution one.
FEATURE_BLOCKS = {"cosine": (1, 2), "rms": None}


def feature_blocks(model: DiffusionModel, kind: str) -> list[int]:
    """Indices of the up-blocks the ``kind`` feature term reads."""
    count = len(model.unet.up_blocks)
    chosen = FEATURE_BLOCKS[kind]
    return list(range(count - 1)) if chosen is None else [i for i in chosen if i < count]


def decoder_features(
    model: DiffusionModel, x: torch.Tensor, t: torch.Tensor, kind: str = "cosine"
) -> list[torch.Tensor]:
    """F(x_t): the outputs of the U-Net's decoder (up) blocks that the ``kind`` feature term compares."""
    feats: list[torch.Tensor] = []
    blocks = [model.unet.up_blocks[i] for i in feature_blocks(model, kind)]
    hooks = [b.register_forward_hook(lambda mod, i, o: feats.append(o)) for b in blocks]
    try:
        cond = model.empty_cond.expand(x.shape[0], -1, -1)
        with computing(model, "features"):
            model.unet(x.to(model.weight_dtype), t, encoder_hidden_states=cond)
    finally:
        for h in hooks:
            h.remove()
    return feats


def feature_distance(kind: str, feats: list[torch.Tensor], feats_orig: list[torch.Tensor]) -> torch.Tensor:
    """cosine: mean over blocks of 1 - (cosine similarity over channels, averaged over positions);
    rms: the RMS over blocks of each block's mean squared difference."""
    if kind == "cosine":
        cos = torch.nn.functional.cosine_similarity
        sims = [cos(f.float(), g.float(), dim=1).mean() for f, g in zip(feats, feats_orig)]
        return 1 - torch.stack(sims).mean()
    diffs = [(f.float() - g.float()).pow(2).mean() for f, g in zip(feats, feats_orig)]
    return torch.stack(diffs).mean().sqrt()


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
    features: str = "cosine",
) -> torch.Tensor:
    """The loss of one iteration at x_t (1 x 4 x h x w).

    transfer / remove with q: |r - c_ref(t)|; remove without q: r (the pseudo curve is 0 above t_min);
    saliency-up/down and blend: s * r + lam * D(F(x_t), F(x_t^orig)), D the ``features`` distance.
    """
    r = rate(model, x, t, cell, channel)
    if task in ("transfer", "remove"):
        return (r - target).abs() if target is not None else r
    loss = SALIENCY_SIGN[task] * r
    if lam > 0 and features_orig is not None:
        loss = loss + lam * feature_distance(features, decoder_features(model, x, t, features), features_orig)
    return loss
