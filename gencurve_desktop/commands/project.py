"""``project info|export``: an OpenRaster project (.ora) as JSON, or its merged image or mask written out; and
the project an edit writes beside its image. No model: these run at once, with nothing to cancel."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gencurve_desktop.commands.checks import check_output

if TYPE_CHECKING:
    import numpy as np

    from gencurve_desktop.document.document import Document
    from gencurve_desktop.engine.edit_reports import EditResult


def project_document(rgb: np.ndarray, result: EditResult, metadata=None) -> Document:
    """The original and the edit as two layers, with the edit's provenance and the photo's ``metadata``; a uint16
    ``rgb`` makes both 16-bit layers (the edit's is the 16-bit original wherever the edit left it: AddEdit)."""
    from gencurve_desktop.document.changes import AddEdit
    from gencurve_desktop.document.document import Document, EditRecord
    from gencurve_desktop.document.layers import Layer

    doc = Document.from_image(rgb, metadata=metadata)
    record = EditRecord(result.provenance(), result.mask)
    AddEdit(Layer.from_rgb(result.title, result.image), record).apply(doc)
    doc.mask = result.mask.copy()
    if result.ref:
        doc.references = [tuple(result.ref)]
    return doc


@dataclass(frozen=True)
class ProjectInfoRequest:
    """``gencurve project info FILE``."""

    file: str


@dataclass(frozen=True)
class ProjectInfo:
    """A project's size, layers (bottom first), groups, edits, mask and references."""

    size: tuple[int, int]
    layers: list[dict]
    groups: list[dict]
    unsupported_modes: list[dict]
    edits: list[dict]
    mask_pixels: int
    references: list[list[int]]
    renamed_ids: list[str] | None = None  # unsafe or repeated ids made safe on load

    def to_json(self) -> dict:
        """The command's JSON result (``renamed_ids`` only when some were renamed)."""
        result = {
            "size": list(self.size),
            "layers": self.layers,
            "groups": self.groups,
            "unsupported_modes": self.unsupported_modes,
            "edits": self.edits,
            "mask_pixels": self.mask_pixels,
            "references": self.references,
        }
        return {**result, **({"renamed_ids": self.renamed_ids} if self.renamed_ids else {})}


def project_info(request: ProjectInfoRequest) -> ProjectInfo:
    """Read the project and describe it."""
    from gencurve_desktop.document.ora import load_ora

    doc = load_ora(request.file)
    edits = {e.id: e for e in doc.edits}
    return ProjectInfo(
        size=tuple(doc.size),
        layers=[  # "group" is the name of the group a layer sits in
            {
                "name": ly.name,
                "visible": ly.visible,
                "opacity": round(ly.opacity, 3),
                "mode": ly.composite_op,
                "group": doc.groups[ly.parent].name if ly.parent in doc.groups else None,
                "edit": ly.edit_id if ly.edit_id in edits else None,
            }
            for ly in doc.layers
        ],
        groups=[
            {
                "name": g.name,
                "visible": g.visible,
                "opacity": round(g.opacity, 3),
                "mode": g.composite_op,
                "isolated": g.isolated,
                "parent": doc.groups[g.parent].name if g.parent in doc.groups else None,
            }
            for g in doc.groups.values()
        ],
        unsupported_modes=[{"name": name, "mode": op} for name, op in doc.unsupported_modes()],
        edits=[
            {
                "id": e.id,
                "task": e.task,
                "seed": e.seed,
                "model": e.provenance.get("model_id"),
                "iterations": e.provenance.get("iterations"),
            }
            for e in doc.edits
        ],
        mask_pixels=int(doc.mask.sum()),
        references=[list(p) for p in doc.references],
        renamed_ids=doc.load_notes or None,
    )


@dataclass(frozen=True)
class ProjectExportRequest:
    """``gencurve project export FILE -o OUT [--mask] [--alpha] [--overwrite]``."""

    file: str
    output: str
    mask: bool = False  # the project's mask (PNG) instead of the merged image
    alpha: bool = False  # keep transparency (PNG, WebP, TIFF) instead of flattening over white
    overwrite: bool = False  # -o may replace the project file itself
    quality: int | None = None  # JPEG / WebP / AVIF / HEIC quality, 1-100 (default 95)


@dataclass(frozen=True)
class ProjectExport:
    """The file written, the project's size and whether transparency was kept."""

    output: Path
    size: tuple[int, int]
    alpha: bool

    def to_json(self) -> dict:
        """The command's JSON result."""
        return {"output": str(self.output), "size": list(self.size), "alpha": self.alpha}


def project_export(request: ProjectExportRequest) -> ProjectExport:
    """Check the output, read the project, write its merged image (or its mask)."""
    from gencurve_desktop.document.export import export_mask, export_merged
    from gencurve_desktop.document.images import IMAGE_OUTPUTS
    from gencurve_desktop.document.ora import load_ora

    suffixes = (".png",) if request.mask else IMAGE_OUTPUTS
    out = check_output(request.output, suffixes, (request.file,), request.overwrite)
    doc = load_ora(request.file)
    if request.mask:
        export_mask(doc, out)
    else:
        export_merged(doc, out, alpha=request.alpha, quality=request.quality)
    return ProjectExport(out, tuple(doc.size), bool(request.alpha and not request.mask))
