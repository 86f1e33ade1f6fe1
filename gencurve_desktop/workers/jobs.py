"""Job descriptions sent to the worker: frozen snapshots taken on the UI thread."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gencurve_desktop.commands.loading import ModelOptions
from gencurve_desktop.engine.matching import PHASES
from gencurve_desktop.engine.models import BUILTIN_MODELS, TRAINED_MODELS
from gencurve_desktop.engine.params import PARAMS
from gencurve_desktop.engine.requests import DEFAULT_ITERATIONS, TASK_NAMES, TASKS, EditParams, EditRequest

__all__ = [  # the engine's request types, re-exported: ui/ reaches the engine only through workers/
    "BUNDLED_MODELS",
    "StageProgress",
    "DEFAULT_ITERATIONS",
    "PARAMS",
    "PHASES",
    "TASK_NAMES",
    "TASKS",
    "EditParams",
    "EditRequest",
    "ModelSpec",
    "EditJob",
    "CurveJob",
    "SaliencyJob",
    "JobEvent",
]


#: Models that come with GenCurve (nothing to download): the seeded configs and the trained mini.
BUNDLED_MODELS = BUILTIN_MODELS + TRAINED_MODELS


#: Which model to load and where: the same options as the command line's (``ModelSpec(source, device, …)``).
ModelSpec = ModelOptions


@dataclass(frozen=True)
class EditJob:
    request: EditRequest
    kind: str = "edit"


@dataclass(frozen=True)
class CurveJob:
    """The generation curve of image pixel ``point`` of ``image``."""

    image: np.ndarray = field(repr=False)
    point: tuple[int, int] = (0, 0)
    steps: int = 50
    kind: str = "curve"


@dataclass(frozen=True)
class SaliencyJob:
    image: np.ndarray = field(repr=False)
    steps: int = 50
    kind: str = "saliency"


@dataclass(frozen=True)
class StageProgress:
    """A saliency map's progress: the engine's stage (invert, saliency) and its count."""

    stage: str
    done: int
    total: int


@dataclass(frozen=True)
class JobEvent:
    """What the worker says about the running job: ``state`` is progress, finished, failed or cancelled."""

    state: str
    kind: str  # edit | curve | saliency
    value: object = None  # EditProgress, the result, or the one-line error message
