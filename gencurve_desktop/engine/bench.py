"""The benchmark behind ``gencurve bench``: inversion, curve, dense and exact saliency, edit iterations.

Every figure is a median over ``repeats`` runs after one warm-up run; the exact saliency map is far too
slow to run whole, so it is timed on a few cells and extrapolated to the full latent grid.
"""

from __future__ import annotations

import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable

import numpy as np
import torch

from gencurve_desktop.engine import ddim, latents
from gencurve_desktop.engine.curves import cell_rates
from gencurve_desktop.engine.framing import frame_for
from gencurve_desktop.engine.matching import run_edit
from gencurve_desktop.engine.models import DiffusionModel
from gencurve_desktop.engine.requests import EditParams, EditRequest
from gencurve_desktop.engine.saliency import estimated_rate_maps

BENCH_TASKS = ("remove", "saliency-down")
PARTS = ("inversion", "curve", "saliency", "exact", "edit", "edit_total", "gradient", "iteration")
DEFAULT_PARTS = ("inversion", "curve", "saliency", "exact", "edit", "gradient", "iteration")


def device_name(device: torch.device) -> str:
    """A human-readable name of the device the numbers were taken on."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{device.type}: {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(fn: Callable[[], object], device: torch.device, repeats: int, warmup: bool = True) -> tuple[float, object]:
    """The median seconds of ``repeats`` calls of ``fn`` (after an untimed one), and the last call's result."""
    if warmup:
        fn()
    times = []
    for _ in range(repeats):
        _sync(device)
        start = time.perf_counter()
        result = fn()
        _sync(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def _median_time(fn: Callable[[], object], device: torch.device, repeats: int, warmup: bool = True) -> float:
    return _timed(fn, device, repeats, warmup)[0]


def peak_memory_mb(device: torch.device) -> float:
    """CUDA max allocated memory, or the process's peak resident set size on CPU."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 1024


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def test_image(size: int) -> np.ndarray:
    """A deterministic, textured test picture (the sample photo when it is large enough)."""
    import cv2

    from gencurve_desktop.document.images import load_rgb
    from gencurve_desktop.paths import sample_image

    return cv2.resize(load_rgb(sample_image()), (size, size), interpolation=cv2.INTER_AREA)


def run_benchmark(
    model: DiffusionModel,
    size: int = 512,
    steps: int = 50,
    repeats: int = 3,
    edit_iterations: int = 10,
    exact_cells: int = 2,
    probes: int = 64,
    log: Callable[[str], None] = lambda s: None,
    parts: tuple[str, ...] = DEFAULT_PARTS,
    warmup: bool = True,
    jvp_chunk: int | None = None,
    total_iterations: int | None = None,
) -> dict:
    """Measure the figures of the performance table; returns the JSON-ready dict.

    ``parts`` selects what is timed (the others come back as null); ``warmup=False`` skips the untimed
    warm-up run, for configurations where one run already takes many minutes (full-size models on a CPU);
    ``jvp_chunk`` caps the directions per JVP call of the curve and exact parts (memory at large sizes).
    """
    unknown = set(parts) - set(PARTS)
    if unknown:
        raise ValueError(f"unknown bench parts {sorted(unknown)}; choose from {', '.join(PARTS)}")
    dev = model.device
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
    rgb = test_image(size)
    framing = frame_for((size, size), max(size, 64))
    schedule = ddim.make_schedule(model, steps)
    z0 = latents.encode_image(model, framing.frame_image(rgb))
    rows, cols = framing.latent_shape

    # 1. DDIM inversion, N steps (the trajectory is needed by every later part)
    inversion_s, trajectory = None, None
    if "inversion" in parts:
        log("inversion")
        inversion_s, trajectory = _timed(lambda: ddim.invert(model, z0, schedule), dev, repeats, warmup)
    elif {"curve", "saliency", "exact"} & set(parts):
        trajectory = ddim.invert(model, z0, schedule)

    # 2. one pixel's curve over N timesteps (mean of the 4 channels: 4 N JVPs)
    curve_s = None
    if "curve" in parts:
        log("curve")
        center = [(rows // 2, cols // 2)]
        curve_s = _median_time(lambda: cell_rates(model, trajectory, center, chunk=jvp_chunk), dev, repeats, warmup)

    # 3. the dense estimator (all cells, N timesteps)
    saliency_s = None
    if "saliency" in parts:
        log("saliency map")
        saliency_s = _median_time(lambda: estimated_rate_maps(model, trajectory, probes=probes), dev, repeats, warmup)

    # 4. the exact map, timed on a few cells and extrapolated to rows x cols
    exact_estimate_s = None
    if "exact" in parts:
        log("exact saliency (subset)")
        cells = [(r, c) for r, c in zip(range(exact_cells), range(exact_cells))]
        subset = lambda: cell_rates(model, trajectory, cells, chunk=jvp_chunk)  # noqa: E731
        subset_s = _median_time(subset, dev, max(1, repeats // 2), warmup)
        exact_estimate_s = subset_s / len(cells) * rows * cols

    # 5. edit iterations (mean over the loop after a warm-up run), per task
    per_task = {}
    if "edit" in parts:
        mask = np.zeros((size, size), bool)
        mask[size // 3 : size // 2, size // 3 : size // 2] = True
        for task in BENCH_TASKS:
            log(f"edit {task}")
            params = EditParams(iterations=edit_iterations, steps=steps, refresh_every=max(edit_iterations, 10))
            ref = (size // 8, size // 8) if task == "remove" else None
            if warmup:
                run_edit(model, EditRequest(task, rgb, mask, ref, EditParams(iterations=2, steps=steps)))
            _sync(dev)
            per_task[task] = run_edit(model, EditRequest(task, rgb, mask, ref, params)).seconds_per_iteration

    # 6. a whole default edit (transfer, 150 iterations unless total_iterations), set-up and reports included
    edit_total_s = None
    if "edit_total" in parts:
        log(f"edit total (transfer, {total_iterations or 'the default'} iterations)")
        mask = np.zeros((size, size), bool)
        mask[size // 3 : size // 2, size // 3 : size // 2] = True
        params = EditParams(steps=steps, iterations=total_iterations)
        request = EditRequest("transfer", rgb, mask, (size // 8, size // 8), params)
        start, first_curve = time.perf_counter(), []

        def on_progress(ev) -> None:  # the first event carrying curves is the first live plot
            if len(ev.source_curve) and not first_curve:
                first_curve.append(time.perf_counter() - start)

        result = run_edit(model, request, on_progress)
        total = time.perf_counter() - start
        edit_total_s = (total, result.seconds_per_iteration * result.iterations, first_curve[0], result.iterations)

    # 7. how faithful the default gradient is: cosine of dL/dx_T against full backprop
    gradient = None
    if "gradient" in parts:
        from gencurve_desktop.engine.gradient_check import gradient_agreement

        log("gradient check")
        mask = np.zeros((size, size), bool)
        mask[size // 3 : size // 2, size // 3 : size // 2] = True
        request = EditRequest("saliency-up", rgb, mask, None, EditParams(steps=steps))
        gradient = gradient_agreement(model, request, samples=4)

    # 8. one iteration at chain depth N/2, with and without checkpointing: passes, seconds, peak memory, and the
    #    memory model's prediction beside the measured peak
    iteration = None
    if "iteration" in parts:
        from gencurve_desktop.engine.iteration_bench import iteration_memory

        log("one edit iteration, with and without checkpointing")
        iteration = [iteration_memory(model, (rows, cols), steps, steps // 2, task) for task in BENCH_TASKS]

    return {
        "device": device_name(dev),
        "model": model.model_id,
        "dtype": str(model.dtype).replace("torch.", ""),
        "image_size": size,
        "steps": steps,
        "repeats": repeats,
        "warmup": warmup,
        "jvp_chunk": jvp_chunk,
        "inversion_s": _round(inversion_s, 4),
        "curve_s": _round(curve_s, 4),
        "saliency_map_s": _round(saliency_s, 4),
        "saliency_probes": probes,
        "saliency_exact_estimate_s": _round(exact_estimate_s, 2),
        "saliency_speedup": _round(exact_estimate_s / saliency_s, 1) if exact_estimate_s and saliency_s else None,
        "edit_iteration_s": _round(max(per_task.values()), 4) if per_task else None,
        "edit_iteration_s_by_task": {k: round(v, 4) for k, v in per_task.items()},
        "edit_total_s": _round(edit_total_s[0], 2) if edit_total_s else None,
        "edit_loop_s": _round(edit_total_s[1], 2) if edit_total_s else None,
        "edit_first_curve_s": _round(edit_total_s[2], 2) if edit_total_s else None,
        "edit_total_iterations": edit_total_s[3] if edit_total_s else None,
        "gradient_cosine": _round(gradient["backprop"]["cosine_min"], 4) if gradient else None,
        "gradient_cosine_linearised": _round(gradient["linearised"]["cosine_mean"], 4) if gradient else None,
        "iteration": iteration,
        "peak_memory_mb": round(peak_memory_mb(dev), 1),
        "torch": torch.__version__,
    }
