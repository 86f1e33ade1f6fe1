"""``gencurve project``: inspect and export OpenRaster projects, and write the project of an edit."""

from __future__ import annotations

from gencurve_desktop.document.atomic import check_writable
from gencurve_desktop.document.images import IMAGE_OUTPUTS


def project_document(rgb, result):
    """The original and the edit as two layers, with the edit's provenance."""
    from gencurve_desktop.document.changes import AddEdit
    from gencurve_desktop.document.document import Document, EditRecord
    from gencurve_desktop.document.layers import Layer

    doc = Document.from_image(rgb)
    record = EditRecord(result.provenance(), result.mask)
    AddEdit(Layer.from_rgb(result.title, result.image), record).apply(doc)
    doc.mask = result.mask.copy()
    if result.ref:
        doc.references = [tuple(result.ref)]
    return doc


def cmd_project(args, progress) -> dict:
    """``gencurve project info|export``: the project as JSON, or its merged image / mask written out."""
    from gencurve_desktop.document.export import export_mask, export_merged
    from gencurve_desktop.document.ora import load_ora

    if args.project_command == "export":
        out = check_writable(args.output, (".png",) if args.mask else IMAGE_OUTPUTS, (args.file,), args.overwrite)
    doc = load_ora(args.file)
    if args.project_command == "export":
        if args.mask:
            export_mask(doc, out)
        else:
            export_merged(doc, out, alpha=args.alpha)
        return {"output": str(out), "size": list(doc.size), "alpha": bool(args.alpha and not args.mask)}
    edits = {e.id: e for e in doc.edits}
    return {
        "size": list(doc.size),
        "layers": [  # bottom first; "group" is the name of the group a layer sits in
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
        "groups": [
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
        "unsupported_modes": [{"name": name, "mode": op} for name, op in doc.unsupported_modes()],
        "edits": [
            {
                "id": e.id,
                "task": e.task,
                "seed": e.seed,
                "model": e.provenance.get("model_id"),
                "iterations": e.provenance.get("iterations"),
            }
            for e in doc.edits
        ],
        "mask_pixels": int(doc.mask.sum()),
        "references": [list(p) for p in doc.references],
        **({"renamed_ids": doc.load_notes} if doc.load_notes else {}),  # unsafe or repeated ids made safe on load
    }
