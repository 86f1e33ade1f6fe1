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

import numpy as np
import torch

from gencurve_desktop.engine.models import DiffusionModel
from gencurve_desktop.engine.params import SALIENCY_TASKS

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


# -- one edit iteration ------------------------------------------------------------------------------------------
#
# An iteration of the ``backprop`` gradient at depth n runs the chain x_T -> x_t (n U-Net steps) with autograd on,
# the loss at x_t (the rate's JVP through the encoder half; the saliency tasks add a whole-U-Net feature pass) and
# the backward pass. What it holds at its peak is what autograd saves for the backward pass:
#
#     without checkpointing:  n * A_step(T) + A_loss(T)
#     with checkpointing:     n * latent + A_step(T) + A_loss(T)   (each step's activations rebuilt one at a time)
#
# with T the latent's token count. A_step and A_loss are measured, not guessed: autograd's saved tensors are
# counted (``saved_tensors_hooks``, those the result's graph still holds) on the real model at three small probe
# sizes (8², 16², 24² latents, once per architecture in a process), and fitted as a + b T + c T² (the quadratic
# term is attention's scores, which only the JVP's math kernel keeps; the constant is the time embedding and the
# text conditioning's keys and values).

PROBE_SIDES = (8, 16, 24)  # multiples of 8: every level of a 4-level U-Net keeps a whole cell
_PROFILES: dict[tuple, tuple[tuple[float, ...], tuple[float, ...]]] = {}


def saved_bytes(fn, exclude: torch.nn.Module | None = None) -> int:
    """Bytes of the distinct tensors autograd saves for the backward pass of ``fn()``'s result and still holds
    when it returns (saved for parts of the graph that are already dropped, like a JVP's primal, is not counted;
    nor are the parameters of ``exclude``, which are held anyway)."""
    import weakref

    saved: list[weakref.ref] = []
    held = {p.untyped_storage().data_ptr() for p in exclude.parameters()} if exclude is not None else set()

    def pack(t: torch.Tensor):
        if isinstance(t, torch.Tensor) and t.device.type != "meta":
            try:
                saved.append(weakref.ref(t))
            except TypeError:
                pass
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        result = fn()
    # no gc.collect() here: this runs on the desktop's engine thread, where a collection can destroy Qt objects
    # and deadlock (app.py); the graph's dropped parts are freed by reference counting (measured: the same bytes)
    storages: dict[int, int] = {}
    for ref in saved:
        t = ref()
        if t is None:
            continue
        try:
            storage = t.untyped_storage()
            ptr = storage.data_ptr()
        except (RuntimeError, NotImplementedError):  # tensor subclasses (functorch wrappers) without a storage
            continue
        if ptr and ptr not in held:
            storages[ptr] = max(storages.get(ptr, 0), storage.nbytes())
    del result
    return sum(storages.values())


def _fit(sides: tuple[int, ...], values: tuple[int, ...]) -> tuple[float, float, float]:
    """(a, b, c) of a + b T + c T² through the three probes (T = side²)."""
    tokens = [s * s for s in sides]
    a, b, c = np.linalg.solve(np.array([[1.0, t, t * t] for t in tokens]), np.array(values, dtype=np.float64))
    return float(a), float(b), float(max(c, 0.0))


def _profile(model: DiffusionModel, task: str):
    """The fitted (A_step, A_loss) coefficients of ``model`` for ``task``'s loss kind (cached)."""
    from gencurve_desktop.engine import ddim
    from gencurve_desktop.engine.tasks import decoder_features, feature_distance, rate

    kind = "features" if task in SALIENCY_TASKS else "rate"
    # one profile per architecture, precision and device in a process (a model loaded again reuses it)
    key = (repr(sorted(dict(model.unet.config).items())), str(model.dtype), model.device.type, kind)
    if key not in _PROFILES:
        schedule = ddim.make_schedule(model, 2)
        t = schedule.timesteps[:1].to(model.device)
        steps, losses = [], []
        for side in PROBE_SIDES:
            x = torch.zeros(1, 4, side, side, device=model.device).requires_grad_(True)
            with torch.enable_grad():
                steps.append(saved_bytes(lambda x=x: ddim.generate_step(model, x, schedule, 0), model.unet))

                def loss(x=x, side=side):
                    value = rate(model, x, t, (side // 2, side // 2), 0)
                    if kind == "features":
                        feats = decoder_features(model, x, t)
                        value = value + feature_distance("cosine", feats, [f.detach() for f in feats])
                    return value

                losses.append(saved_bytes(loss, model.unet))
        _PROFILES[key] = (_fit(PROBE_SIDES, tuple(steps)), _fit(PROBE_SIDES, tuple(losses)))
    return _PROFILES[key]


def iteration_bytes(
    model: DiffusionModel, latent_hw: tuple[int, int], depth: int, task: str, checkpointing: bool
) -> int:
    """Predicted activation bytes one edit iteration at chain depth ``depth`` holds at its peak (module notes)."""
    (a_s, b_s, c_s), (a_l, b_l, c_l) = _profile(model, task)
    tokens = latent_hw[0] * latent_hw[1]
    step = a_s + b_s * tokens + c_s * tokens**2
    loss = a_l + b_l * tokens + c_l * tokens**2
    latent = 4 * tokens * 4  # one float32 latent
    return int((depth * latent + step if checkpointing else depth * step) + loss)


def deepest_kept_chain(
    model: DiffusionModel, latent_hw: tuple[int, int], steps: int, task: str, free: int | None = None
) -> int:
    """The deepest chain (0..steps-1) whose every activation fits in the usable share of free memory (measured
    now when not given); -1 when none does. An edit asks once and checkpoints only the iterations deeper than it."""
    free = free_bytes(model.device) if free is None else free
    if free is None:
        return -1
    budget = USABLE_SHARE.get(model.device.type, 0.5) * free
    fits = [n for n in range(steps) if iteration_bytes(model, latent_hw, n, task, checkpointing=False) <= budget]
    return max(fits, default=-1)


def use_checkpointing(
    model: DiffusionModel, latent_hw: tuple[int, int], depth: int, task: str, free: int | None = None
) -> bool:
    """Whether an iteration at chain depth ``depth`` checkpoints: only when keeping every step's activations
    would not fit (:func:`deepest_kept_chain`)."""
    return depth > deepest_kept_chain(model, latent_hw, depth + 1, task, free)
