"""The memory budget of a model load: the weights' bytes counted from the configs on PyTorch's ``meta`` device
(nothing allocated) against ``$GENCURVE_MAX_MODEL_GB``, else the smaller of the memory available now and a 32 GB
ceiling. Over it: :class:`OutOfMemoryError` (exit code 4) with one line saying which limit and how to raise it."""

from __future__ import annotations

import math
import os
import sys
import warnings
from pathlib import Path

from gencurve_desktop.engine.model_limits import DEFAULT_CEILING_GB, GB, MODEL_GB_ENV, _size
from gencurve_desktop.errors import BadInputError, OutOfMemoryError


def available_memory() -> int | None:
    """Bytes of host memory available now (psutil, /proc/meminfo, Windows' GlobalMemoryStatusEx), else None."""
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except Exception:  # not installed, or no answer on this platform
        pass
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    if sys.platform == "win32":
        return _windows_available()
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")  # macOS: no "available"; the total
    except (ValueError, OSError, AttributeError):
        return None


def _windows_available() -> int | None:
    import ctypes

    class MemoryStatus(ctypes.Structure):
        _fields_ = [
            ("dwLength", ctypes.c_ulong),
            ("dwMemoryLoad", ctypes.c_ulong),
            ("ullTotalPhys", ctypes.c_ulonglong),
            ("ullAvailPhys", ctypes.c_ulonglong),
            ("ullTotalPageFile", ctypes.c_ulonglong),
            ("ullAvailPageFile", ctypes.c_ulonglong),
            ("ullTotalVirtual", ctypes.c_ulonglong),
            ("ullAvailVirtual", ctypes.c_ulonglong),
            ("ullAvailExtendedVirtual", ctypes.c_ulonglong),
        ]

    status = MemoryStatus()
    status.dwLength = ctypes.sizeof(MemoryStatus)
    try:
        if ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):
            return int(status.ullAvailPhys)
    except (AttributeError, OSError):
        pass
    return None


def model_budget() -> tuple[int, str]:
    """(bytes the model's weights may use, why): ``$GENCURVE_MAX_MODEL_GB``, else the smaller of the memory
    available now and the 32 GB ceiling."""
    text = os.environ.get(MODEL_GB_ENV, "").strip()
    if text:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and value > 0):
            raise BadInputError(f"{MODEL_GB_ENV} must be a positive number of GB, got {text!r}")
        return int(value * GB), f"{MODEL_GB_ENV}={text}"
    ceiling = DEFAULT_CEILING_GB * GB
    available = available_memory()
    if available is not None and available < ceiling:
        return available, "the memory available now"
    return ceiling, f"the default ceiling of {DEFAULT_CEILING_GB} GB"


def module_bytes(module) -> int:
    """Bytes of a module's parameters and buffers in float32 (it may live on the meta device)."""
    return sum(t.numel() * 4 for t in module.state_dict().values())


def meta_networks(folder: Path):
    """The U-Net, VAE and text encoder of the configs in ``folder``, built on the meta device (no memory)."""
    import torch
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    with warnings.catch_warnings(), torch.device("meta"):
        warnings.simplefilter("ignore")
        unet = UNet2DConditionModel.from_config(UNet2DConditionModel.load_config(folder / "unet"))
        vae = AutoencoderKL.from_config(AutoencoderKL.load_config(folder / "vae"))
        text_encoder = CLIPTextModel(CLIPTextConfig.from_pretrained(folder / "text_encoder"))
    return unet, vae, text_encoder


def check_budget(source: str, networks) -> None:
    """OutOfMemoryError (exit code 4) when the weights of ``networks`` (unet, vae, text encoder) in float32
    need more than :func:`model_budget` allows."""
    sizes = {name: module_bytes(m) for name, m in zip(("U-Net", "VAE", "text encoder"), networks)}
    need = sum(sizes.values())
    budget, why = model_budget()
    if need <= budget:
        return
    parts = ", ".join(f"{name} {_size(size)}" for name, size in sizes.items())
    suggest = max(1, math.ceil(need / GB * 1.1))
    raise OutOfMemoryError(
        f"{source}: the model's weights need {_size(need)} of memory ({parts}), more than the {_size(budget)} "
        f"allowed by {why}; set {MODEL_GB_ENV}={suggest} to raise the limit"
    )


def check_model_budget(source: str, folder: Path) -> None:
    """:func:`check_budget` for the configs in ``folder``, counted on the meta device."""
    check_budget(source, meta_networks(folder))
