"""What a curve-matching edit reports: a progress event after every iteration (and one when it reaches each
phase), the phases' names, and its result (the edited image and its provenance)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from gencurve_desktop.engine.requests import TASK_NAMES


@dataclass
class EditProgress:
    """What the progress callback receives after every iteration."""

    iteration: int
    total: int
    loss: float
    timesteps: list[int]
    source_curve: np.ndarray
    reference_curve: np.ndarray | None
    preview: np.ndarray | None = None
    sample: tuple | None = None  # ((row, col), channel, trajectory index n) the loss was taken at
    x_T: torch.Tensor | None = field(default=None, repr=False)  # the x_T the loss and gradient were taken at
    gradient: torch.Tensor | None = field(default=None, repr=False)  # dL/dx_T there: what the Adam step used
    phase: str = "iterations"  # inverting | curves | iterations | report | decoding


PHASES = {
    "inverting": "Inverting the image",
    "curves": "Computing the starting curves",
    "iterations": "Optimising",
    "report": "Reading the optimiser's curves",
    "decoding": "Decoding",
    "measuring": "Measuring the result (inverting the output)",
}


def announce(on_progress, phase: str, total: int, timesteps=(), source=None, reference=None) -> None:
    """A progress event that names the phase the edit has reached (no iteration yet; curves when known)."""
    if on_progress is not None:
        curve = np.zeros(0) if source is None else source
        on_progress(EditProgress(0, total, float("nan"), [int(t) for t in timesteps], curve, reference, phase=phase))


@dataclass(frozen=True)
class EditResult:
    """The edited image (original size, composited) and its provenance."""

    image: np.ndarray = field(repr=False)
    task: str
    params: dict
    model_id: str
    ref: tuple[int, int] | None
    iterations: int
    loss: list[float]  # the loss at the true x_t(x_T) (backprop), or at the linearised state (see loss_kind)
    timesteps: list[int]
    source_curve_before: list[float]
    source_curve_after: list[float]
    reference_curve_before: list[float] | None
    reference_curve_after: list[float] | None
    curve_distance_before: float | None
    curve_distance_after: float | None
    fluctuation_before: float
    fluctuation_after: float
    seconds: float
    seconds_per_iteration: float
    mask: np.ndarray = field(repr=False, default=None)  # the request's mask (bool, image size)
    loss_kind: str = "true"  # "true", or "linearised estimate" with --gradient linearised
    #: the *_before/*_after figures above are measured on the input and the output image (each encoded and
    #: inverted afresh) over this many cells of Ω; ``trajectory_figures`` are the optimiser's own, on its latent
    #: trajectory (what the loss saw), kept for diagnosis
    measured_cells: int = 0
    trajectory_figures: dict = field(default_factory=dict)
    #: the dtype each part computed in (engine/precision.py), and how many iterations checkpointed their chain
    #: (engine/memory.py: only when keeping every step's activations would not fit)
    precision: dict = field(default_factory=dict)
    checkpointed_iterations: int = 0

    @property
    def title(self) -> str:
        """A layer name for the result, e.g. "Remove object"."""
        return TASK_NAMES[self.task]

    def provenance(self) -> dict:
        """Everything but the pixels, JSON-ready."""
        d = {k: v for k, v in self.__dict__.items() if k not in ("image", "mask")}
        d["ref"] = list(self.ref) if self.ref else None
        return d
