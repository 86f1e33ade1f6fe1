"""Which parts of the method run in the model's half-precision working dtype, and which in float32.

With ``--dtype bf16`` (the default on CUDA) or ``fp16`` the U-Net's weights stay in float32 and each part runs
under ``torch.autocast`` in the working dtype, or in float32 where half precision costs it fidelity. Measured
against an independent float64 reference (docs/method.md "Precision"; tests/engine/test_matching_reference.py),
2026-12-03, CPU bf16 autocast:

- bf16 *weights* (the earlier path): gradient cosine down to 0.76, loss up to 6.5 % off (issue 26's audit);
- weights in float32, every part under bf16 autocast: cosine >= 0.997 on the demo model, but the feature term
  (1 - cosine similarity, a small difference of near-equal features) 1.05 % off, and mini's N = 50 inversion
  3.6 % off at x_T (its error accumulates over N steps and every curve is read on it);
- inversion and features in float32, chain and h-space (the rate's JVP) in bf16: cosine >= 0.999, every loss
  within 1 % of itself or of the rate it is built from, for all five tasks.

"""

from __future__ import annotations

import contextlib

import torch

#: The parts of one edit (and of curves and maps), by the function that runs the U-Net for them.
PARTS = ("inversion", "chain", "h-space", "features")
#: The parts that run in float32 whatever the working dtype (measured: see the module doc).
FLOAT32_PARTS = frozenset({"inversion", "features"})
HALF = (torch.float16, torch.bfloat16)


def weight_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype the U-Net's weights are kept in for working dtype ``dtype``: float32 for the half dtypes."""
    return torch.float32 if dtype in HALF else dtype


def part_dtype(dtype: torch.dtype, part: str) -> torch.dtype:
    """The dtype ``part`` computes in when the model's working dtype is ``dtype``."""
    return torch.float32 if dtype in HALF and part in FLOAT32_PARTS else dtype


def dtypes_by_part(dtype: torch.dtype) -> dict[str, str]:
    """Each part's compute dtype, JSON-ready (the edit JSON's ``precision``)."""
    return {part: str(part_dtype(dtype, part)).replace("torch.", "") for part in PARTS}


def computing(model, part: str) -> contextlib.AbstractContextManager:
    """The context ``part`` runs its U-Net calls in: autocast to the working dtype, or plain float32."""
    if model.dtype not in HALF:
        return contextlib.nullcontext()
    device_type = model.device.type if model.device.type in ("cuda", "cpu", "mps") else "cpu"
    if part in FLOAT32_PARTS:
        return torch.autocast(device_type, enabled=False)
    return torch.autocast(device_type, dtype=model.dtype)
