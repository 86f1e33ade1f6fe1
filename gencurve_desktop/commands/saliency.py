"""``saliency``: the dense curve-fluctuation saliency map of an image (contract: DESIGN §5)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from gencurve_desktop.commands.checks import check_output, require_finite
from gencurve_desktop.commands.inversions import InversionCache
from gencurve_desktop.commands.loading import ModelInfo, ModelSource
from gencurve_desktop.engine.cancel import CancelToken, ProgressFn, no_progress
from gencurve_desktop.errors import BadInputError

if TYPE_CHECKING:
    from gencurve_desktop.engine.analysis import SaliencyMap
    from gencurve_desktop.engine.models import DiffusionModel


@dataclass(frozen=True)
class SaliencyOptions:
    """How a map is made: the fast estimator (``probes`` random probes drawn with ``seed``) or the exact map, from
    one latent channel or all four, the fluctuation over t >= ``t_min`` in windows of ``window`` timesteps."""

    exact: bool = False
    channel: int | None = None
    probes: int = 64
    t_min: int = 200
    window: int = 5
    steps: int = 50
    max_side: int = 1024
    seed: int = 0

    @classmethod
    def from_options(cls, values: Mapping[str, object]) -> SaliencyOptions:
        """The options among ``values`` (a parsed command line, or a batch item's options), defaults for the rest."""
        return cls(**{name: values[name] for name in cls.__dataclass_fields__ if name in values})

    def validate(self) -> None:
        """Raise :class:`BadInputError` for a latent channel, a probe count or a window that cannot be used."""
        from gencurve_desktop.engine.curves import channels_for

        channels_for(self.channel)
        if self.probes < 1:
            raise BadInputError(f"--probes must be at least 1, got {self.probes}")
        if self.window < 2:
            raise BadInputError(f"--window must be at least 2, got {self.window}")


@dataclass(frozen=True)
class SaliencyRequest:
    """The saliency map of an image in memory."""

    image: np.ndarray = field(repr=False)
    options: SaliencyOptions = SaliencyOptions()

    def validate(self) -> None:
        """Raise :class:`BadInputError` for a request that cannot run (before any model work)."""
        self.options.validate()


def compute_saliency(
    model: DiffusionModel,
    request: SaliencyRequest,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
    inversions: InversionCache | None = None,
) -> SaliencyMap:
    """The map of ``request`` (finite, or :class:`NonFiniteError`); ``inversions`` as for curves."""
    from gencurve_desktop.engine.analysis import saliency_map

    request.validate()
    o = request.options
    inversion = (inversions or InversionCache()).get(model, request.image, o.steps, o.max_side, progress, cancel)
    smap = saliency_map(model, inversion, o.exact, o.channel, o.probes, o.t_min, o.window, o.seed, progress, cancel)
    require_finite("saliency map", smap.latent)
    return smap


@dataclass(frozen=True)
class SaliencyFiles:
    """``gencurve saliency IMAGE -o MAP.png``: the map of an image file, written as an 8-bit PNG."""

    image: str
    output: str
    options: SaliencyOptions = SaliencyOptions()

    @classmethod
    def from_options(cls, values: Mapping[str, object]) -> SaliencyFiles:
        """The request named by ``values`` (a parsed command line, or a batch item's files and options)."""
        return cls(str(values["image"]), str(values["output"]), SaliencyOptions.from_options(values))


@dataclass(frozen=True)
class SaliencyReport:
    """What ``saliency`` reports about the map it wrote."""

    model: ModelInfo
    steps: int
    exact: bool
    output: Path
    size: tuple[int, int]  # the image's (width, height)
    latent_shape: tuple[int, ...]
    seconds: float
    fluctuation_range: tuple[float, float]

    def to_json(self) -> dict:
        """The command's JSON result."""
        return {
            **self.model.to_json(),
            "steps": self.steps,
            "method": "exact" if self.exact else "fast",
            "output": str(self.output),
            "size": list(self.size),
            "latent_shape": list(self.latent_shape),
            "seconds": round(self.seconds, 3),
            "fluctuation_range": list(self.fluctuation_range),
        }


def run_saliency(
    request: SaliencyFiles, model: ModelSource, progress: ProgressFn = no_progress, cancel: CancelToken | None = None
) -> SaliencyReport:
    """Check the output and the options, read the image, load the model, compute the map and write it."""
    from gencurve_desktop.document.images import load_rgb, save_image_atomic
    from gencurve_desktop.engine.analysis import saliency_to_uint8

    if Path(request.output).suffix.lower() != ".png":
        raise BadInputError(f"{request.output}: the saliency map is written as PNG; use a .png name")
    out = check_output(request.output, (".png",), (request.image,))
    request.options.validate()
    rgb = load_rgb(request.image)
    loaded = model(progress)
    start = time.perf_counter()
    smap = compute_saliency(loaded, SaliencyRequest(rgb, request.options), progress, cancel)
    save_image_atomic(saliency_to_uint8(smap.image), out)
    return SaliencyReport(
        ModelInfo.of(loaded),
        request.options.steps,
        request.options.exact,
        out,
        (rgb.shape[1], rgb.shape[0]),
        tuple(smap.latent.shape),
        time.perf_counter() - start,
        (float(smap.latent.min()), float(smap.latent.max())),
    )
