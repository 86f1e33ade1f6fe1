"""How faithful each gradient scheme is: dL/dx_T of every scheme against full backpropagation, on the same states.

Used by ``gencurve bench --parts gradient`` (``gradient_cosine``) and the README's table of schemes.
"""

from __future__ import annotations

import functools
import time

import numpy as np
import torch

from gencurve_desktop.engine import ddim, latents
from gencurve_desktop.engine.chain import generate_blended, grad_checkpointed, grad_full, grad_linearised
from gencurve_desktop.engine.curves import CHANNELS, cell_channel_rates
from gencurve_desktop.engine.framing import frame_for
from gencurve_desktop.engine.masks import boundary_band
from gencurve_desktop.engine.matching import sampling_weights
from gencurve_desktop.engine.models import DiffusionModel
from gencurve_desktop.engine.requests import EditRequest
from gencurve_desktop.engine.tasks import decoder_features, task_loss


def gradient_agreement(model: DiffusionModel, request: EditRequest, samples: int = 6, seed: int = 0) -> dict:
    """Cosine and norm ratio of each scheme's dL/dx_T against full backprop, over ``samples`` sampled losses.

    The states are the edit's starting point (x_T from the inversion, the regenerated trajectory as the cache),
    and the samples (cell, channel, t) are drawn as the edit draws them. Returns a JSON-ready dict.
    """
    task, p = request.task, request.params.for_task(request.task)
    # 1. the edit's set-up: framing, region, inversion, the regenerated trajectory
    framing = frame_for((request.image.shape[1], request.image.shape[0]), p.max_side)
    region = boundary_band(request.mask, p.erode_px) if task == "blend" else request.mask
    omega = framing.latent_mask(region)
    cells = np.argwhere(omega)
    blend = torch.from_numpy(omega.astype(np.float32)).to(model.device)[None, None]
    schedule = ddim.make_schedule(model, p.steps)
    inversion = ddim.invert(model, latents.encode_image(model, framing.frame_image(request.image)), schedule)
    orig = inversion.latents.to(model.device)
    x_T = orig[0:1].clone()
    cache, _ = generate_blended(model, x_T, orig, blend, schedule, p.t_blend)
    timesteps = schedule.timesteps.numpy()
    gains = ((1 - schedule.alphas) / (1 - schedule.alphas[0])).sqrt().float()
    s_curve = cell_channel_rates(
        model,
        ddim.Trajectory(z0=cache[-1:], latents=cache, schedule=schedule),
        [tuple(int(v) for v in cells[len(cells) // 2])],
        list(range(CHANNELS)),
    )[0].mean(0)
    gen = torch.Generator().manual_seed(seed)
    # 2. each sample: the loss of that (cell, channel, t), its gradient by every scheme
    rows = []
    for _ in range(samples):
        cell = tuple(int(v) for v in cells[int(torch.randint(len(cells), (1,), generator=gen))])
        channel = int(torch.randint(CHANNELS, (1,), generator=gen))
        n = int(torch.multinomial(sampling_weights(task, False, s_curve, timesteps, p.t_min), 1, generator=gen))
        t = schedule.timesteps[n : n + 1].to(model.device)
        feats = None
        if task.startswith("saliency") or task == "blend":
            with torch.no_grad():
                feats = [f.detach() for f in decoder_features(model, orig[n : n + 1], t, p.features)]
        target = 0.5 if task == "transfer" else None  # a fixed reference value is enough to compare directions
        loss_at = functools.partial(
            task_loss, task, model, t=t, cell=cell, channel=channel, target=target, lam=p.lam, features_orig=feats,
            features=p.features,
        )  # fmt: skip
        t_blend = p.t_blend if p.blend_schedule == "every-step" else None  # every-k: the chain is unblended
        chain = (loss_at, model, orig, blend, schedule, t_blend, n, x_T)
        timed = {}
        schemes = (
            ("full", functools.partial(grad_full, *chain)),
            ("backprop", functools.partial(grad_checkpointed, *chain)),
            ("linearised", functools.partial(grad_linearised, loss_at, cache, gains, x_T, n, x_T)),
        )
        for name, fn in schemes:
            start = time.perf_counter()
            grad, _ = fn()
            timed[name] = (grad.flatten().double(), time.perf_counter() - start)
        ref = timed["full"][0]
        rows.append(
            {
                name: (float(torch.nn.functional.cosine_similarity(g, ref, dim=0)), float(g.norm() / ref.norm()), s)
                for name, (g, s) in timed.items()
                if name != "full"
            }
            | {"n": n, "t": int(timesteps[n]), "full_s": timed["full"][1]}
        )
    # 3. summary per scheme
    out = {"task": task, "samples": samples, "steps": p.steps, "per_sample": rows}
    for name in ("backprop", "linearised"):
        cos = [r[name][0] for r in rows]
        ratio = [r[name][1] for r in rows]
        out[name] = {
            "cosine_mean": float(np.mean(cos)),
            "cosine_min": float(np.min(cos)),
            "norm_ratio_median": float(np.median(ratio)),
            "seconds_median": float(np.median([r[name][2] for r in rows])),
        }
    out["full_seconds_median"] = float(np.median([r["full_s"] for r in rows]))
    return out
