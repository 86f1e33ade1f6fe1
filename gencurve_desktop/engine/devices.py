"""Device and dtype choice, and translating device errors into the project's errors."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from gencurve_desktop.errors import BadInputError, OutOfMemoryError

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16, "fp64": torch.float64}


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` picks cuda > mps > cpu; an explicit device that is not available is a BadInputError."""
    name = (name or "auto").lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise BadInputError("the CUDA device was asked for, but there is no CUDA GPU on this machine")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise BadInputError("the Metal (MPS) device was asked for but it is not available on this machine")
    try:
        return torch.device(name)
    except RuntimeError:
        raise BadInputError(f"unknown device {name!r} (use auto, cpu, cuda or mps)") from None


def available_devices() -> dict[str, bool]:
    """Each device choice and whether this machine can use it (``auto`` and ``cpu`` always)."""
    mps = getattr(torch.backends, "mps", None)
    return {
        "auto": True,
        "cuda": torch.cuda.is_available(),
        "mps": bool(mps is not None and mps.is_available()),
        "cpu": True,
    }


def resolve_dtype(name: str, device: torch.device) -> torch.dtype:
    """``auto``: bf16 on CUDA GPUs that support it (else fp16), fp16 on MPS, fp32 on CPU."""
    name = (name or "auto").lower()
    if name == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        if device.type == "mps":
            return torch.float16
        return torch.float32
    if name not in DTYPES:
        raise BadInputError(f"unknown dtype {name!r} (use auto, fp32, fp16 or bf16)")
    return DTYPES[name]


@contextlib.contextmanager
def oom_guard() -> Iterator[None]:
    """Turn device out-of-memory errors into :class:`OutOfMemoryError` (exit code 4)."""
    try:
        yield
    except torch.OutOfMemoryError as e:
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        raise OutOfMemoryError(
            "the GPU ran out of memory; try a smaller image, --dtype fp16/bf16, or close other GPU programs"
        ) from e
    except MemoryError as e:
        raise OutOfMemoryError("the machine ran out of memory; try a smaller image") from e
