"""The one declaration of every edit parameter: name, type, default, range, help and which tasks use it.

``EditParams`` validates against this table, the command line builds its flags from it, and the desktop's Edit
dock builds its widgets from it, so a parameter is added or changed in exactly one place.
"""

from __future__ import annotations

from dataclasses import dataclass

TASKS = ("transfer", "remove", "saliency-up", "saliency-down", "blend")
GRADIENTS = ("backprop", "linearised")
BLEND_SCHEDULES = ("every-k", "every-step")
FEATURE_TERMS = ("cosine", "rms")
SALIENCY_TASKS = ("saliency-up", "saliency-down", "blend")
MAX_SEED = 2**63 - 1


@dataclass(frozen=True)
class Param:
    """One edit parameter (a field of ``EditParams``)."""

    name: str  # the EditParams field
    flag: str  # the command-line flag
    kind: type  # int, float or str
    default: object  # None: the task's default (iterations)
    low: float | None = None
    high: float | None = None
    help: str = ""
    label: str = ""  # the Edit dock's label
    tasks: tuple[str, ...] = TASKS  # tasks whose loss uses it
    choices: tuple[str, ...] | None = None
    widget: str | None = None  # the Edit dock's object name for automation, if any

    def check(self, value) -> str | None:
        """The one-line problem with ``value``, or None when it is allowed."""
        if value is None:
            return None if self.default is None else f"{self.flag} needs a value"
        if self.choices is not None:
            return None if value in self.choices else f"{self.flag} must be one of {', '.join(self.choices)}"
        if self.kind is float and not (value == value and abs(value) != float("inf")):
            return f"{self.flag} must be a finite number, got {value}"
        if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
            what = f" ({self.label.lower()})" if self.label else ""
            return f"{self.flag}{what} must be in {_fmt(self.low)}..{_fmt(self.high)}, got {value}"
        return None


def _fmt(x) -> str:
    return "2**63-1" if x == MAX_SEED else (f"{x:g}" if isinstance(x, float) else str(x))


PARAMS: tuple[Param, ...] = (
    Param(
        "iterations",
        "--iterations",
        int,
        None,
        1,
        100_000,
        "optimisation iterations (default: per task, see docs/method.md)",
        "Iterations",
        widget="iterationsSpin",
    ),
    Param(
        "seed",
        "--seed",
        int,
        0,
        0,
        MAX_SEED,
        "random seed: the same seed gives the same result",
        "Seed",
        widget="seedSpin",
    ),
    Param("lr", "--lr", float, 0.05, 1e-6, 10.0, "Adam learning rate on x_T", "Learning rate"),
    Param(
        "refresh_every",
        "--refresh-every",
        int,
        10,
        1,
        100_000,
        "k: refresh the trajectory and curves every k iterations",
        "Refresh every",
    ),
    Param(
        "t_min", "--t-min", int, 200, 0, 999, "losses use timesteps t >= T_MIN (saliency losses, pseudo curve)", "t_min"
    ),
    Param("t_blend", "--t-blend", int, 500, 0, 1000, "localised modification at t >= T_BLEND", "t_blend"),
    Param(
        "lam",
        "--lambda",
        float,
        1.0,
        0.0,
        100.0,
        "feature-alignment weight of the saliency tasks",
        "λ (features)",
        SALIENCY_TASKS,
    ),
    Param(
        "features",
        "--features",
        str,
        "cosine",
        help="the saliency tasks' feature term: cosine (DragonDiffusion: 1 - cosine similarity of the decoder's"
        " up-blocks 1 and 2, per position) or rms (RMS difference of every up-block but the last); docs/method.md",
        label="Feature term",
        tasks=SALIENCY_TASKS,
        choices=FEATURE_TERMS,
    ),
    Param(
        "blend_schedule",
        "--blend-schedule",
        str,
        "every-k",
        help="the localised modification: every-k (the paper: x_T is blended with the original every k iterations"
        " and the output generated with the blend at t >= t_blend) or every-step (also inside every loss's"
        " differentiable chain); docs/method.md",
        label="Blend schedule",
        choices=BLEND_SCHEDULES,
    ),
    Param(
        "erode_px",
        "--erode",
        int,
        16,
        1,
        8192,
        "blend: boundary band width in image pixels",
        "Blend band (px)",
        ("blend",),
    ),
    Param(
        "feather_px", "--feather", int, 8, 0, 8192, "feather of the composite outside the mask, pixels", "Feather (px)"
    ),
    Param(
        "region",
        "--region",
        str,
        "auto",
        help="the part of the photo the edit works on: crop (a window around the mask at the model's native size,"
        " full detail), whole (the whole photo, downscaled to --max-side), auto (crop when the photo is larger"
        " than the model's native size); docs/real-photos.md",
        label="Working region",
        choices=("auto", "crop", "whole"),
        widget="regionChoice",
    ),
    Param(
        "gradient",
        "--gradient",
        str,
        "backprop",
        help="how gradients reach x_T: backprop through the DDIM chain with checkpointing (faithful, default) "
        "or linearised (faster approximation); see docs/method.md",
        label="Gradient",
        choices=GRADIENTS,
    ),
)
BY_NAME = {p.name: p for p in PARAMS}
