"""One edit iteration measured: U-Net passes, seconds and peak memory with and without checkpointing, beside the
memory model's prediction (``engine.memory.iteration_bytes``). Behind ``gencurve bench --parts iteration``."""

from __future__ import annotations

import functools
import gc
import time
from pathlib import Path

import torch

from gencurve_desktop.engine import ddim, memory
from gencurve_desktop.engine.chain import grad_checkpointed
from gencurve_desktop.engine.models import DiffusionModel
from gencurve_desktop.engine.tasks import SALIENCY_SIGN, decoder_features, task_loss

_CLEAR_REFS = Path("/proc/self/clear_refs")


def _rss(key: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1]) * 1024
    return 0


def _large_blocks_from_the_os() -> None:
    """glibc: serve every block >= 64 KiB by mmap, so freed tensors leave the resident set and its resettable peak
    counts what one run holds (not what an earlier run left in malloc's heap)."""
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 64 * 1024)  # M_MMAP_THRESHOLD
        libc.mallopt(-1, 64 * 1024)  # M_TRIM_THRESHOLD
        libc.malloc_trim(0)  # and hand back what earlier runs left free in the heap
    except (OSError, AttributeError):
        pass


class _Peak:
    """Peak bytes above the start: CUDA's allocator counters, or Linux's resettable peak resident size."""

    def __init__(self, device: torch.device):
        self.device = device

    @staticmethod
    def available(device: torch.device) -> bool:
        return device.type == "cuda" or _CLEAR_REFS.exists()

    def __enter__(self):
        gc.collect()
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self.base = torch.cuda.memory_allocated(self.device)
        else:
            _large_blocks_from_the_os()
            _CLEAR_REFS.write_text("5")
            self.base = _rss("VmRSS:")
        return self

    def __exit__(self, *exc) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            self.bytes = torch.cuda.max_memory_allocated(self.device) - self.base
        else:
            self.bytes = _rss("VmHWM:") - self.base


def _counting_passes(model: DiffusionModel):
    """A counter of U-Net passes: every full pass and every encoder-half (h-space) pass runs the mid block."""
    count = [0]
    hook = model.unet.mid_block.register_forward_pre_hook(lambda *a: count.__setitem__(0, count[0] + 1))
    return count, hook


def iteration_memory(model: DiffusionModel, latent_hw: tuple[int, int], steps: int, depth: int, task: str) -> dict:
    """One ``task`` iteration at chain depth ``depth`` of ``steps``, with and without checkpointing: seconds,
    U-Net passes, measured peak MB above the start, and the memory model's prediction (MB)."""
    schedule = ddim.make_schedule(model, steps)
    g = torch.Generator().manual_seed(0)
    orig = torch.randn(steps, 4, *latent_hw, generator=g).to(model.device)
    blend = torch.zeros(1, 1, *latent_hw, device=model.device)
    t = schedule.timesteps[depth : depth + 1].to(model.device)
    feats = None
    if task in SALIENCY_SIGN:
        with torch.no_grad():
            feats = [f.detach() for f in decoder_features(model, orig[depth : depth + 1], t)]
    cell = (latent_hw[0] // 2, latent_hw[1] // 2)
    target = 0.5 if task in ("transfer", "remove") else None
    loss_at = functools.partial(task_loss, task, model, t=t, cell=cell, channel=0, target=target, lam=1.0,
                                features_orig=feats)  # fmt: skip
    x_T = orig[0:1].clone()
    if model.device.type != "cuda":
        _large_blocks_from_the_os()
    rows = {}
    for checkpointing in (True, False):
        run = functools.partial(grad_checkpointed, loss_at, model, orig, blend, schedule, None, depth, x_T,
                                checkpointing=checkpointing)  # fmt: skip
        run()  # warm-up (kernels, allocator)
        count, hook = _counting_passes(model)
        try:
            measurable = _Peak.available(model.device)
            start = time.perf_counter()
            if measurable:
                with _Peak(model.device) as peak:
                    run()
            else:
                run()
            if model.device.type == "cuda":
                torch.cuda.synchronize(model.device)
            seconds = time.perf_counter() - start
        finally:
            hook.remove()
        predicted = memory.iteration_bytes(model, latent_hw, depth, task, checkpointing)
        rows["checkpointing" if checkpointing else "no_checkpointing"] = {
            "seconds": round(seconds, 4),
            "unet_passes": count[0],
            "peak_mb": round(peak.bytes / 2**20, 1) if measurable else None,
            "predicted_mb": round(predicted / 2**20, 1),
            "predicted_over_measured": round(predicted / peak.bytes, 3) if measurable and peak.bytes > 0 else None,
        }
    rows["chosen"] = "checkpointing" if memory.use_checkpointing(model, latent_hw, depth, task) else "no_checkpointing"
    return {"task": task, "latent": list(latent_hw), "steps": steps, "depth": depth, **rows}
