"""``curve``: generation curves of image pixels and of a masked region (contract: DESIGN §5)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from gencurve_desktop.commands.checks import check_points, parse_point, require_finite
from gencurve_desktop.commands.inversions import InversionCache
from gencurve_desktop.commands.loading import ModelInfo, ModelSource
from gencurve_desktop.engine.cancel import CancelToken, ProgressFn, no_progress
from gencurve_desktop.errors import BadInputError

if TYPE_CHECKING:
    from gencurve_desktop.engine.analysis import Curves
    from gencurve_desktop.engine.models import DiffusionModel


@dataclass(frozen=True)
class CurveRequest:
    """Curves of an image in memory: pixels (x, y), an optional bool mask of the image's size, a latent channel."""

    image: np.ndarray = field(repr=False)
    points: tuple[tuple[int, int], ...] = ()
    mask: np.ndarray | None = field(default=None, repr=False)
    channel: int | None = None
    steps: int = 50
    max_side: int = 1024

    def validate(self) -> None:
        """Raise :class:`BadInputError` for a request that cannot run (before any model work)."""
        from gencurve_desktop.engine.curves import channels_for

        if not self.points and self.mask is None:
            raise BadInputError("give at least one --at X,Y or a --mask")
        channels_for(self.channel)
        h, w = self.image.shape[:2]
        check_points(self.points, w, h)
        if self.mask is not None and self.mask.shape != (h, w):
            raise BadInputError(f"the mask is {self.mask.shape[1]}x{self.mask.shape[0]} but the image is {w}x{h}")
        if self.mask is not None and not self.mask.any():
            raise BadInputError("the mask is empty (no pixel is white >= 128)")


def compute_curves(
    model: DiffusionModel,
    request: CurveRequest,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
    inversions: InversionCache | None = None,
) -> Curves:
    """The curves of ``request`` (finite, or :class:`NonFiniteError`); ``inversions`` keeps the image's inversion
    for the next command on the same picture (the desktop's)."""
    from gencurve_desktop.engine.analysis import generation_curves

    request.validate()
    inversion = (inversions or InversionCache()).get(
        model, request.image, request.steps, request.max_side, progress, cancel
    )
    curves = generation_curves(model, inversion, list(request.points), request.mask, request.channel, progress, cancel)
    for rates in [*curves.rates, curves.region or []]:
        require_finite("generation curves", rates)
    return curves


@dataclass(frozen=True)
class CurveFiles:
    """``gencurve curve IMAGE --at X,Y … [--mask MASK]``: the curves of an image file."""

    image: str
    points: tuple[tuple[int, int], ...] = ()
    mask: str | None = None
    channel: int | None = None
    steps: int = 50
    max_side: int = 1024

    @classmethod
    def from_options(cls, values: Mapping[str, object]) -> CurveFiles:
        """The request named by ``values`` (a parsed command line, or a batch item's files and options)."""
        return cls(
            image=str(values["image"]),
            points=tuple(parse_point(str(text)) for text in values.get("at") or ()),
            mask=str(values["mask"]) if values.get("mask") else None,
            channel=values.get("channel"),
            steps=values.get("steps", 50),
            max_side=values.get("max_side", 1024),
        )


@dataclass(frozen=True)
class CurveReport:
    """What ``curve`` reports: the model, the step count and the curves."""

    model: ModelInfo
    steps: int
    curves: Curves

    def to_json(self) -> dict:
        """The command's JSON result."""
        c = self.curves
        result = {
            **self.model.to_json(),
            "steps": self.steps,
            "timesteps": c.timesteps,
            "curves": [{"at": [x, y], "rates": r} for (x, y), r in zip(c.points, c.rates)],
        }
        if c.region is not None:
            result["region"] = {"rates": c.region}
        return result


def run_curve(
    request: CurveFiles, model: ModelSource, progress: ProgressFn = no_progress, cancel: CancelToken | None = None
) -> CurveReport:
    """Read the image (and mask), check everything, then load the model and compute the curves."""
    from gencurve_desktop.document.images import load_mask, load_rgb
    from gencurve_desktop.engine.curves import channels_for

    if not request.points and not request.mask:
        raise BadInputError("give at least one --at X,Y or a --mask")
    channels_for(request.channel)
    rgb = load_rgb(request.image)
    h, w = rgb.shape[:2]
    check_points(request.points, w, h)
    mask = None
    if request.mask:
        mask = load_mask(request.mask, (w, h))
        if not mask.any():
            raise BadInputError(f"{request.mask}: the mask is empty (no pixel is white >= 128)")
    loaded = model(progress)
    inputs = CurveRequest(rgb, request.points, mask, request.channel, request.steps, request.max_side)
    curves = compute_curves(loaded, inputs, progress, cancel)
    return CurveReport(ModelInfo.of(loaded), request.steps, curves)
