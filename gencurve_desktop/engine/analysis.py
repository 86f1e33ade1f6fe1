"""Analyses of one image, end to end: frame, encode, invert, then curves or a saliency map.

These are the operations behind ``gencurve curve`` / ``gencurve saliency`` and the desktop's curve probe.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import cv2
import numpy as np

from gencurve_desktop.engine import ddim, latents
from gencurve_desktop.engine.cancel import CancelToken, ProgressFn, no_progress
from gencurve_desktop.engine.curves import cell_rates, region_rates
from gencurve_desktop.engine.devices import oom_guard
from gencurve_desktop.engine.framing import Framing, frame_for
from gencurve_desktop.engine.models import DiffusionModel
from gencurve_desktop.engine.saliency import (
    DEFAULT_PROBES,
    DEFAULT_T_MIN,
    DEFAULT_WINDOW,
    estimated_rate_maps,
    exact_rate_maps,
)


@dataclass(frozen=True)
class Inversion:
    """An image framed for the model and inverted by DDIM."""

    framing: Framing
    trajectory: ddim.Trajectory


def invert_image(
    model: DiffusionModel,
    rgb: np.ndarray,
    steps: int = 50,
    max_side: int = 1024,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
) -> Inversion:
    """Frame ``rgb`` under the working-size rule, encode it and invert it through ``steps`` DDIM steps."""
    framing = frame_for((rgb.shape[1], rgb.shape[0]), max_side)
    schedule = ddim.make_schedule(model, steps)
    with oom_guard():
        z0 = latents.encode_image(model, framing.frame_image(rgb))
        trajectory = ddim.invert(model, z0, schedule, progress, cancel)
    return Inversion(framing, trajectory)


@dataclass(frozen=True)
class Curves:
    """Generation curves in generation order (descending t)."""

    timesteps: list[int]
    points: list[tuple[int, int]]  # image pixels (x, y)
    rates: list[list[float]]  # one curve per point
    region: list[float] | None  # mean curve of the mask's cells, when a mask was given


def generation_curves(
    model: DiffusionModel,
    inversion: Inversion,
    points: list[tuple[int, int]],
    mask: np.ndarray | None = None,
    channel: int | None = None,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
) -> Curves:
    """Curves of image pixels ``points`` (x, y) and, with a bool ``mask`` of the image's size, of its region."""
    fr, tr = inversion.framing, inversion.trajectory
    cells = [fr.to_latent_cell(x, y) for x, y in points]
    with oom_guard():
        rates = cell_rates(model, tr, cells, channel, progress=progress, cancel=cancel) if cells else np.zeros((0, 0))
        region = None
        if mask is not None:
            region = region_rates(model, tr, fr.latent_mask(mask), channel, progress=progress, cancel=cancel)
    return Curves(
        timesteps=[int(t) for t in tr.schedule.timesteps],
        points=list(points),
        rates=[[float(v) for v in row] for row in rates],
        region=None if region is None else [float(v) for v in region],
    )


@dataclass(frozen=True)
class SaliencyMap:
    """A curve-fluctuation map: on the latent grid and upsampled to the image."""

    latent: np.ndarray  # rows x cols float64 (working canvas)
    image: np.ndarray  # H x W float32, original image size
    exact: bool
    seconds: float


def saliency_map(
    model: DiffusionModel,
    inversion: Inversion,
    exact: bool = False,
    channel: int | None = None,
    probes: int = DEFAULT_PROBES,
    t_min: int = DEFAULT_T_MIN,
    window: int = DEFAULT_WINDOW,
    seed: int = 0,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
) -> SaliencyMap:
    """Dense saliency: the fast estimator by default, or the exact per-cell reference."""
    start = time.perf_counter()
    tr, fr = inversion.trajectory, inversion.framing
    with oom_guard():
        if exact:
            maps = exact_rate_maps(model, tr, channel, progress=progress, cancel=cancel)
        else:
            maps = estimated_rate_maps(model, tr, channel, probes, seed, progress=progress, cancel=cancel)
    latent = maps.saliency(t_min, window)
    up = cv2.resize(latent.astype(np.float32), fr.working, interpolation=cv2.INTER_CUBIC)
    return SaliencyMap(latent, fr.unframe(up), exact, time.perf_counter() - start)


def saliency_to_uint8(values: np.ndarray) -> np.ndarray:
    """Min-max normalise a map to 0..255 (a flat map becomes black)."""
    lo, hi = float(values.min()), float(values.max())
    if hi <= lo:
        return np.zeros(values.shape, dtype=np.uint8)
    return np.clip(np.rint((values - lo) / (hi - lo) * 255.0), 0, 255).astype(np.uint8)
