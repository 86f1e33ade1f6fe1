"""``edit``: one curve-matching edit of a masked region (contract: DESIGN §5).

The request in memory is the engine's own :class:`~gencurve_desktop.engine.requests.EditRequest`; the file-level
command reads it from files and writes the edited image (and, if asked, a project) together.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from gencurve_desktop.commands.checks import check_output, parse_point
from gencurve_desktop.commands.inversions import InversionCache
from gencurve_desktop.commands.loading import ModelSource
from gencurve_desktop.engine.cancel import CancelToken, ProgressFn, no_progress
from gencurve_desktop.engine.requests import EditParams, EditRequest
from gencurve_desktop.errors import BadInputError

if TYPE_CHECKING:
    from gencurve_desktop.engine.edit_reports import EditProgress, EditResult
    from gencurve_desktop.engine.models import DiffusionModel


def compute_edit(
    model: DiffusionModel,
    request: EditRequest,
    on_progress: Callable[[EditProgress], None] | None = None,
    cancel: CancelToken | None = None,
    inversions: InversionCache | None = None,
) -> EditResult:
    """Run the edit of ``request``; with ``inversions``, the image's inversion is shared with the curves and maps
    of the same picture (the desktop's), else the edit inverts the image itself."""
    from gencurve_desktop.engine.matching import run_edit

    request.validate()
    inversion = None
    if inversions is not None:
        p = request.params
        inversion = inversions.get(model, request.image, p.steps, p.max_side, cancel=cancel)
    return run_edit(model, request, on_progress, cancel, inversion=inversion)


def ref_of(text: str | None) -> tuple[int, int] | str | None:
    """``--ref``: ``X,Y``, ``auto`` or nothing."""
    if not text:
        return None
    return "auto" if text == "auto" else parse_point(text)


@dataclass(frozen=True)
class EditFiles:
    """``gencurve edit IMAGE --mask MASK --task TASK -o OUT [--project P.ora]``: an edit of image files."""

    image: str
    mask: str
    output: str
    task: str
    ref: tuple[int, int] | str | None = None  # (x, y), "auto" (remove only) or None
    params: EditParams = EditParams(preview_every=0)
    project: str | None = None
    overwrite: bool = False  # -o / --project may replace an input file
    quality: int | None = None  # lossy outputs' quality, 1-100 (default 95)

    @classmethod
    def from_options(cls, values: Mapping[str, object]) -> EditFiles:
        """The request named by ``values`` (a parsed command line, or a batch item's files and options)."""
        from gencurve_desktop.engine.params import PARAMS

        params = EditParams(
            **{param.name: values.get(param.name, param.default) for param in PARAMS},
            steps=values.get("steps", 50),
            preview_every=0,
            max_side=values.get("max_side", 1024),
        )
        return cls(
            image=str(values["image"]),
            mask=str(values["mask"]),
            output=str(values["output"]),
            task=str(values["task"]),
            ref=ref_of(values.get("ref")),
            params=params,
            project=str(values["project"]) if values.get("project") else None,
            overwrite=bool(values.get("overwrite", False)),
            quality=values.get("quality"),
        )


@dataclass(frozen=True)
class EditReport:
    """What ``edit`` reports: the engine's result and the files written."""

    result: EditResult
    output: Path
    project: Path | None = None

    def to_json(self) -> dict:
        """The command's JSON result."""
        r = self.result
        return {
            "task": r.task,
            "iterations": r.iterations,
            "seconds": round(r.seconds, 3),
            "loss": r.loss,
            "loss_kind": r.loss_kind,
            "curve_distance_before": r.curve_distance_before,
            "curve_distance_after": r.curve_distance_after,
            "output": str(self.output),
            "ref": list(r.ref) if r.ref else None,
            "seconds_per_iteration": round(r.seconds_per_iteration, 4),
            "fluctuation_before": r.fluctuation_before,
            "fluctuation_after": r.fluctuation_after,
            "project": str(self.project) if self.project else None,
        }


def run_edit(
    request: EditFiles, model: ModelSource, progress: ProgressFn = no_progress, cancel: CancelToken | None = None
) -> EditReport:
    """Check the outputs, read and check the inputs, load the model, edit, then write the image and the project
    together (both or neither). A 16-bit PNG or TIFF is edited at its nearest 8-bit values and the result is
    written at 16 bits (PNG, TIFF and the project's layers): the photo's own 16-bit values wherever the edit left
    a pixel unchanged (outside the mask's feather, bit for bit), the edited values times 257 elsewhere."""
    from gencurve_desktop.commands.project import project_document
    from gencurve_desktop.document.atomic import write_together
    from gencurve_desktop.document.deep import deepen, to_8bit
    from gencurve_desktop.document.images import IMAGE_OUTPUTS, check_quality, image_writer, load_mask, load_photo
    from gencurve_desktop.document.ora import ora_bytes

    inputs = (request.image, request.mask)
    out = check_output(request.output, IMAGE_OUTPUTS, inputs, request.overwrite)
    project = check_output(request.project, (".ora",), inputs, request.overwrite) if request.project else None
    if project is not None and Path(os.path.abspath(project)) == Path(os.path.abspath(out)):
        raise BadInputError(f"{project}: the project and the image output must be different files")
    check_quality(request.quality)
    photo, metadata = load_photo(request.image, depth16=True)  # uint16 for a 16-bit PNG or TIFF
    rgb = to_8bit(photo) if photo.dtype == np.uint16 else photo
    mask = load_mask(request.mask, (rgb.shape[1], rgb.shape[0]))
    edit = EditRequest(request.task, rgb, mask, request.ref, request.params)
    edit.validate()
    loaded = model(progress)
    result = compute_edit(loaded, edit, lambda ev: progress(f"edit: {ev.phase}", ev.iteration, ev.total), cancel)
    image = deepen(result.image, photo) if photo.dtype == np.uint16 else result.image
    writes = [(out, image_writer(image, out, metadata, request.quality))]  # profile, EXIF, XMP, DPI kept
    if project is not None:
        data = ora_bytes(project_document(photo, result, metadata))
        writes.append((project, lambda f: f.write(data)))
    write_together(writes)
    return EditReport(result, out, project)
