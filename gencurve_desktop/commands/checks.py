"""Checks the commands share: finite figures, writable outputs, pixels inside the image; out of memory."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from gencurve_desktop.errors import BadInputError, NonFiniteError

#: The one line for a run out of memory (exit code 4), on the command line and in a batch's results.
OOM_HINT = "out of memory; try a smaller --max-side, fewer --probes or --steps, or the other device (--device cpu|cuda)"


def is_out_of_memory(e: BaseException) -> bool:
    """True for Python's ``MemoryError`` and for torch's CPU allocation failures (a ``RuntimeError``)."""
    text = str(e)
    cpu = isinstance(e, RuntimeError) and ("can't allocate memory" in text or "not enough memory" in text)
    return isinstance(e, MemoryError) or cpu


def require_finite(name: str, values: object) -> None:
    """Non-finite figures are a failure (exit code 1), never reported: JSON has no NaN."""
    import numpy as np

    if not np.all(np.isfinite(np.asarray(values, dtype=np.float64))):
        raise NonFiniteError(
            f"the {name} came out non-finite (NaN/inf) — the model overflowed in this dtype; try --dtype fp32"
        )


def check_output(
    path: str | os.PathLike, suffixes: tuple[str, ...], inputs: tuple = (), overwrite: bool = False
) -> Path:
    """Every output is checked before the model loads: extension, folder, writability, not an input."""
    from gencurve_desktop.document.atomic import check_writable

    return check_writable(path, suffixes, inputs, overwrite)


def check_points(points: Iterable[tuple[int, int]], width: int, height: int) -> None:
    """Raise :class:`BadInputError` for a pixel (x, y) outside a ``width`` x ``height`` image."""
    for x, y in points:
        if not (0 <= x < width and 0 <= y < height):
            raise BadInputError(f"pixel ({x}, {y}) is outside the {width}x{height} image")


def parse_point(text: str) -> tuple[int, int]:
    """``"X,Y"`` -> (x, y) image pixel."""
    parts = text.split(",")
    try:
        if len(parts) != 2:
            raise ValueError
        return int(parts[0]), int(parts[1])
    except ValueError:
        raise BadInputError(f"cannot read the coordinate {text!r}: expected X,Y with integers, e.g. 120,64") from None
