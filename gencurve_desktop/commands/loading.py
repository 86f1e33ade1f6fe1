"""The model a command runs on: which one (:class:`ModelOptions`), loaded once (:class:`ModelCache`), handed to a
command as a :data:`ModelSource` so that the command checks its request before any model loads."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gencurve_desktop.engine.cancel import ProgressFn, no_progress

if TYPE_CHECKING:
    from gencurve_desktop.engine.models import DiffusionModel

#: What a command is given: called with a progress callback, it returns the model (loading it the first time).
ModelSource = Callable[[ProgressFn], "DiffusionModel"]


@dataclass(frozen=True)
class ModelOptions:
    """Which model to load and how (``--model``, ``--device``, ``--dtype``, ``--prediction-type``)."""

    model: str = "demo"
    device: str = "auto"
    dtype: str = "auto"
    prediction_type: str = "auto"

    @classmethod
    def from_options(cls, values: Mapping[str, object]) -> ModelOptions:
        """The model options among ``values`` (e.g. a parsed command line's), the defaults for the others."""
        defaults = cls()
        return cls(*(str(values.get(name) or getattr(defaults, name)) for name in cls.__dataclass_fields__))


class ModelCache:
    """Models loaded on first use and kept, one per :class:`ModelOptions` (a batch loads its model once)."""

    def __init__(self) -> None:
        self._models: dict[ModelOptions, DiffusionModel] = {}

    def get(self, options: ModelOptions, progress: ProgressFn = no_progress) -> DiffusionModel:
        """The model of ``options``, loaded now if it is not loaded yet."""
        if options not in self._models:
            from gencurve_desktop.engine.models import load_model

            self._models[options] = load_model(
                options.model, options.device, options.dtype, progress, prediction_type=options.prediction_type
            )
        return self._models[options]

    def source(self, options: ModelOptions) -> ModelSource:
        """A :data:`ModelSource` that loads ``options``' model into this cache on first use."""
        return lambda progress=no_progress: self.get(options, progress)


def load_when_asked(options: ModelOptions) -> ModelSource:
    """A :data:`ModelSource` for one command: ``options``' model, loaded when the command asks for it."""
    return ModelCache().source(options)


def preloaded(model: DiffusionModel) -> ModelSource:
    """A :data:`ModelSource` for a model that is loaded already (the desktop's)."""
    return lambda progress=no_progress: model


@dataclass(frozen=True)
class ModelInfo:
    """What every analysis result says about its model: the id, the prediction type and why."""

    model: str
    prediction_type: str
    prediction_source: str

    @classmethod
    def of(cls, model: DiffusionModel) -> ModelInfo:
        """The facts of a loaded model."""
        return cls(model.model_id, model.prediction_type, model.prediction_source)

    def to_json(self) -> dict:
        """The ``model``, ``prediction_type`` and ``prediction_source`` fields of the JSON results."""
        return {
            "model": self.model,
            "prediction_type": self.prediction_type,
            "prediction_source": self.prediction_source,
        }
