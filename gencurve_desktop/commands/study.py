"""The study's item (``gencurve study saliency``, the paper's appendix B.1): for one image and its ground-truth
fixation map, one pixel drawn (seeded) at the map's maximum and one at its minimum, the fluctuation of both
pixels' generation curves, and the Spearman rank correlation between the dense saliency map and the map."""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gencurve_desktop.commands.curve import CurveRequest, compute_curves
from gencurve_desktop.commands.inversions import InversionCache
from gencurve_desktop.commands.loading import ModelInfo, ModelSource
from gencurve_desktop.commands.saliency import SaliencyOptions, SaliencyRequest, compute_saliency
from gencurve_desktop.engine.cancel import CancelToken, ProgressFn, no_progress
from gencurve_desktop.errors import BadInputError


def draw_pixels(fixation: np.ndarray, seed: int, name: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """(x, y) of one pixel at the map's maximum and one at its minimum, drawn with ``seed`` and the file name."""
    lo, hi = int(fixation.min()), int(fixation.max())
    if lo == hi:
        raise BadInputError(f"{name}: the fixation map is flat (every pixel is {lo}); it marks nothing salient")
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    picks = []
    for level in (hi, lo):
        ys, xs = np.nonzero(fixation == level)
        k = int(rng.integers(len(xs)))
        picks.append((int(xs[k]), int(ys[k])))
    return picks[0], picks[1]


def spearman(a: np.ndarray, b: np.ndarray) -> float | None:
    """Spearman's rank correlation of two equally shaped arrays (ties get their mean rank); None if one is flat."""
    ra, rb = _ranks(a.ravel()), _ranks(b.ravel())
    if ra.std() == 0 or rb.std() == 0:
        return None
    return float(np.corrcoef(ra, rb)[0, 1])


def _ranks(x: np.ndarray) -> np.ndarray:
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    mean_rank = np.cumsum(counts) - (counts - 1) / 2.0
    return mean_rank[inverse]


@dataclass(frozen=True)
class StudyItemRequest:
    """One image of the study and its fixation map (files), with the measurement's settings."""

    image: str
    fixation: str
    seed: int = 0
    t_min: int = 200
    window: int = 5
    probes: int = 64
    channel: int | None = None
    steps: int = 50
    max_side: int = 1024

    @classmethod
    def from_options(cls, values: Mapping[str, object]) -> StudyItemRequest:
        """The request named by ``values`` (a batch item's files and options)."""
        return cls(**{name: values[name] for name in cls.__dataclass_fields__ if name in values})


@dataclass(frozen=True)
class StudyItemResult:
    """The two pixels, their fluctuations, and the dense map's rank correlation with the ground truth."""

    model: ModelInfo
    steps: int
    salient_pixel: tuple[int, int]
    calm_pixel: tuple[int, int]
    fluctuation_salient: float
    fluctuation_calm: float
    spearman: float | None

    def to_json(self) -> dict:
        """The item's result in ``results.jsonl``."""
        return {
            **self.model.to_json(),
            "steps": self.steps,
            "salient_pixel": list(self.salient_pixel),
            "calm_pixel": list(self.calm_pixel),
            "fluctuation_salient": self.fluctuation_salient,
            "fluctuation_calm": self.fluctuation_calm,
            "salient_fluctuates_more": bool(self.fluctuation_salient > self.fluctuation_calm),
            "spearman": self.spearman,
        }


def run_study_item(
    request: StudyItemRequest,
    model: ModelSource,
    progress: ProgressFn = no_progress,
    cancel: CancelToken | None = None,
) -> StudyItemResult:
    """Measure one image: one inversion for the two pixels' curves and for the dense map."""
    from gencurve_desktop.document.images import load_grey, load_rgb
    from gencurve_desktop.engine.saliency import fluctuation

    r = request
    # 1. the image and its ground truth at the image's size; the two pixels
    rgb = load_rgb(r.image)
    fixation = load_grey(r.fixation, (rgb.shape[1], rgb.shape[0]))
    salient, calm = draw_pixels(fixation, r.seed, Path(r.image).name)
    # 2. one inversion for the curves and the dense map
    loaded = model(progress)
    inversions = InversionCache()
    curves = compute_curves(
        loaded, CurveRequest(rgb, (salient, calm), None, r.channel, r.steps, r.max_side), progress, cancel, inversions
    )
    flux = fluctuation(np.asarray(curves.rates), np.asarray(curves.timesteps), r.t_min, r.window)
    # 3. the dense map against the ground truth over the whole image
    fast = SaliencyOptions(False, r.channel, r.probes, r.t_min, r.window, r.steps, r.max_side, r.seed)
    smap = compute_saliency(loaded, SaliencyRequest(rgb, fast), no_progress, cancel, inversions)
    return StudyItemResult(
        ModelInfo.of(loaded),
        r.steps,
        salient,
        calm,
        float(flux[0]),
        float(flux[1]),
        spearman(smap.image, fixation.astype(np.float64)),
    )
