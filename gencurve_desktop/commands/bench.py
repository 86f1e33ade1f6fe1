"""``bench``: time inversion, curves, saliency maps and edit iterations on a synthetic image (the engine's
:func:`~gencurve_desktop.engine.bench.run_benchmark`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from gencurve_desktop.commands.loading import ModelSource
from gencurve_desktop.engine.cancel import ProgressFn, no_progress
from gencurve_desktop.errors import BadInputError


@dataclass(frozen=True)
class BenchRequest:
    """What to time, on a ``size`` x ``size`` image; ``None`` figures are the engine's defaults."""

    size: int = 512
    steps: int = 50
    repeats: int = 3
    edit_iterations: int = 10
    exact_cells: int = 2
    total_iterations: int | None = None
    parts: tuple[str, ...] | None = None  # None: the engine's default parts
    warmup: bool = True
    jvp_chunk: int | None = None

    def validate(self) -> None:
        """Raise :class:`BadInputError` for figures that cannot be timed (before the model loads)."""
        from gencurve_desktop.engine.bench import PARTS

        if self.size < 64 or self.size % 64:
            raise BadInputError(f"--size must be a multiple of 64, got {self.size}")
        if self.repeats < 1 or self.edit_iterations < 1 or self.exact_cells < 1:
            raise BadInputError("--repeats, --edit-iterations and --exact-cells must be at least 1")
        if self.total_iterations is not None and self.total_iterations < 1:
            raise BadInputError(f"--total-iterations must be at least 1, got {self.total_iterations}")
        if self.jvp_chunk is not None and self.jvp_chunk < 1:
            raise BadInputError(f"--jvp-chunk must be at least 1, got {self.jvp_chunk}")
        if self.parts is not None and (not self.parts or set(self.parts) - set(PARTS)):
            raise BadInputError(f"--parts: choose from {', '.join(PARTS)}, got {','.join(self.parts)!r}")


def run_bench(
    request: BenchRequest,
    model: ModelSource,
    progress: ProgressFn = no_progress,
    log: Callable[[str], None] = lambda stage: None,
) -> dict:
    """Check the request, load the model, time the parts asked for; the engine's JSON-ready figures (the parts
    not asked for are null). ``log`` hears each stage as it starts."""
    from gencurve_desktop.engine.bench import run_benchmark

    request.validate()
    r = request
    parts = {} if r.parts is None else {"parts": r.parts}
    return run_benchmark(
        model(progress),
        r.size,
        r.steps,
        r.repeats,
        r.edit_iterations,
        r.exact_cells,
        log=log,
        **parts,
        warmup=r.warmup,
        jvp_chunk=r.jvp_chunk,
        total_iterations=r.total_iterations,
    )
