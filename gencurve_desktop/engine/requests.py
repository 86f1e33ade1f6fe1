"""Frozen edit requests and their parameters (built on the UI thread or by the CLI, read by the engine)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

import numpy as np

from gencurve_desktop.errors import BadInputError

TASKS = ("transfer", "remove", "saliency-up", "saliency-down", "blend")
GRADIENTS = ("linearised", "backprop")
TASK_NAMES = {
    "transfer": "Semantic transfer",
    "remove": "Remove object",
    "saliency-up": "Make more eye-catching",
    "saliency-down": "Make less eye-catching",
    "blend": "Blend pasted object",
}
#: Iterations per task (the paper used 30-300 depending on the task).
DEFAULT_ITERATIONS = {"transfer": 150, "remove": 150, "saliency-up": 100, "saliency-down": 100, "blend": 60}


@dataclass(frozen=True)
class EditParams:
    """Every tunable number of curve matching; README "Edit parameters" justifies the defaults."""

    iterations: int | None = None  # None: the task's default
    lr: float = 0.05  # Adam learning rate on x_T
    refresh_every: int = 10  # k: regenerate the trajectory and curves every k iterations
    t_min: int = 200  # losses and sampling use t >= t_min
    t_blend: int = 500  # localised modification at t >= t_blend
    lam: float = 1.0  # feature-alignment weight (saliency tasks)
    erode_px: int = 16  # blend: band width inside the mask boundary, image pixels
    feather_px: int = 8  # composite: feather width outside the mask, image pixels
    steps: int = 50  # DDIM steps N
    seed: int = 0
    preview_every: int = 10  # emit a decoded preview every n iterations (at refreshes); 0: never
    max_side: int = 1024  # working-size limit
    gradient: str = "linearised"  # how gradients reach x_T: "linearised" chain or full "backprop" (README)

    def for_task(self, task: str) -> EditParams:
        """These parameters with the task's default iteration count filled in."""
        return self if self.iterations is not None else replace(self, iterations=DEFAULT_ITERATIONS[task])

    def validate(self) -> None:
        """Raise BadInputError for impossible values."""
        checks = [
            (self.iterations is None or self.iterations >= 1, "iterations must be at least 1"),
            (self.lr > 0 and np.isfinite(self.lr), "the learning rate must be a positive number"),
            (self.refresh_every >= 1, "the refresh period k must be at least 1"),
            (0 <= self.t_min < 1000, "t_min must be in 0..999"),
            (0 <= self.t_blend <= 1000, "t_blend must be in 0..1000"),
            (self.lam >= 0 and np.isfinite(self.lam), "lambda must be >= 0"),
            (self.erode_px >= 1, "the erosion kernel must be at least 1 pixel"),
            (self.feather_px >= 0, "the feather must be >= 0"),
            (2 <= self.steps <= 1000, "steps must be in 2..1000"),
            (self.preview_every >= 0, "preview_every must be >= 0"),
            (self.gradient in GRADIENTS, f"gradient must be one of {', '.join(GRADIENTS)}"),
        ]
        for ok, message in checks:
            if not ok:
                raise BadInputError(message)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class EditRequest:
    """One edit: the image, the mask (bool, image size), an optional reference pixel (x, y), parameters."""

    task: str
    image: np.ndarray = field(repr=False)
    mask: np.ndarray = field(repr=False)
    ref: tuple[int, int] | str | None = None  # (x, y), "auto" (remove only) or None
    params: EditParams = EditParams()

    def validate(self) -> None:
        """Raise BadInputError for an impossible request (before any model work)."""
        if self.task not in TASKS:
            raise BadInputError(f"unknown task {self.task!r}; choose one of {', '.join(TASKS)}")
        self.params.validate()
        h, w = self.image.shape[:2]
        if self.image.ndim != 3 or self.image.shape[2] != 3 or self.image.dtype != np.uint8:
            raise BadInputError("the image must be H x W x 3 uint8")
        if self.mask.shape != (h, w):
            raise BadInputError(f"the mask is {self.mask.shape[1]}x{self.mask.shape[0]} but the image is {w}x{h}")
        if not self.mask.any():
            raise BadInputError("the mask is empty: paint the region to edit")
        if self.mask.all():
            raise BadInputError("the mask covers the whole image: leave some of the image outside it")
        if self.ref == "auto":
            if self.task != "remove":
                raise BadInputError("--ref auto picks a background pixel and applies to remove only")
        elif self.ref is not None:
            x, y = self.ref
            if not (0 <= x < w and 0 <= y < h):
                raise BadInputError(f"the reference pixel ({x}, {y}) is outside the {w}x{h} image")
        if self.task == "transfer" and self.ref is None:
            raise BadInputError("semantic transfer needs a reference pixel (--ref X,Y)")
