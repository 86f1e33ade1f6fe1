"""Frozen edit requests and their parameters (built on the UI thread or by the CLI, read by the engine)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

import numpy as np

from gencurve_desktop.engine.params import BY_NAME, GRADIENTS, PARAMS, TASKS
from gencurve_desktop.errors import BadInputError

__all__ = ["GRADIENTS", "TASKS", "TASK_NAMES", "DEFAULT_ITERATIONS", "EditParams", "EditRequest"]
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
    """Every tunable number of curve matching; docs/method.md "Parameters" justifies the defaults.

    The defaults and ranges of the tunable ones are declared once in ``engine/params.py``.
    """

    iterations: int | None = None  # None: the task's default
    lr: float = BY_NAME["lr"].default  # Adam learning rate on x_T
    refresh_every: int = BY_NAME["refresh_every"].default  # k: regenerate the trajectory and curves every k iterations
    t_min: int = BY_NAME["t_min"].default  # losses and sampling use t >= t_min
    t_blend: int = BY_NAME["t_blend"].default  # localised modification at t >= t_blend
    lam: float = BY_NAME["lam"].default  # feature-alignment weight (saliency tasks)
    features: str = BY_NAME["features"].default  # cosine (DragonDiffusion) | rms: engine/tasks.py
    blend_schedule: str = BY_NAME["blend_schedule"].default  # every-k (paper) | every-step: engine/chain.py
    erode_px: int = BY_NAME["erode_px"].default  # blend: band width inside the mask boundary, image pixels
    feather_px: int = BY_NAME["feather_px"].default  # composite: feather width outside the mask, image pixels
    steps: int = 50  # DDIM steps N
    seed: int = BY_NAME["seed"].default
    preview_every: int = 10  # emit a decoded preview every n iterations (at refreshes); 0: never
    max_side: int = 1024  # working-size limit
    gradient: str = BY_NAME["gradient"].default  # how gradients reach x_T (README)
    region: str = BY_NAME["region"].default  # auto | crop | whole: engine/working_region.py

    def for_task(self, task: str) -> EditParams:
        """These parameters with the task's default iteration count filled in."""
        return self if self.iterations is not None else replace(self, iterations=DEFAULT_ITERATIONS[task])

    def validate(self) -> None:
        """Raise BadInputError for impossible values."""
        for param in PARAMS:
            problem = param.check(getattr(self, param.name))
            if problem:
                raise BadInputError(problem)
        checks = [
            (2 <= self.steps <= 1000, f"--steps must be in 2..1000, got {self.steps}"),
            (self.preview_every >= 0, "preview_every must be >= 0"),
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
        for name in ("erode_px", "feather_px"):
            if getattr(self.params, name) > max(h, w):
                flag = "--erode" if name == "erode_px" else "--feather"
                raise BadInputError(f"{flag} {getattr(self.params, name)} is larger than the {w}x{h} image")
        if self.ref == "auto":
            if self.task != "remove":
                raise BadInputError("--ref auto picks a background pixel and applies to remove only")
        elif self.ref is not None:
            x, y = self.ref
            if not (0 <= x < w and 0 <= y < h):
                raise BadInputError(f"the reference pixel ({x}, {y}) is outside the {w}x{h} image")
        if self.task == "transfer" and self.ref is None:
            raise BadInputError("semantic transfer needs a reference pixel (--ref X,Y)")
