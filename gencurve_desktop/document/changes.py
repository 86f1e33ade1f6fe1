"""Undo atoms: small changes that store exactly what they need to revert, applied by the document's owner.

Each change has ``apply(doc)`` and ``revert(doc)``; applying then reverting leaves the document as it was.
The desktop's QUndoCommands call these (one brush stroke = one MaskStroke).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gencurve_desktop.document.deep import deepen
from gencurve_desktop.document.document import Document, EditRecord
from gencurve_desktop.document.layers import Layer


class Change:
    """Base class of undo atoms."""

    label = "change"

    def apply(self, doc: Document) -> None:
        raise NotImplementedError

    def revert(self, doc: Document) -> None:
        raise NotImplementedError


@dataclass
class MaskStroke(Change):
    """Replace the mask inside a bounding box (x0, y0, x1, y1); keeps the old pixels of that box only."""

    bbox: tuple[int, int, int, int]
    new: np.ndarray  # bool, bbox-sized
    old: np.ndarray | None = None
    label: str = "Brush stroke"

    @classmethod
    def paint(cls, doc: Document, stroke: np.ndarray, erase: bool = False, label: str | None = None) -> MaskStroke:
        """The change that paints (or erases) the bool full-size ``stroke`` into the mask."""
        ys, xs = np.nonzero(stroke)
        if len(xs) == 0:
            box = (0, 0, 0, 0)
        else:
            box = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
        x0, y0, x1, y1 = box
        cur = doc.mask[y0:y1, x0:x1]
        part = stroke[y0:y1, x0:x1]
        new = (cur & ~part) if erase else (cur | part)
        return cls(box, new.copy(), label=label or ("Erase" if erase else "Brush stroke"))

    def apply(self, doc: Document) -> None:
        x0, y0, x1, y1 = self.bbox
        self.old = doc.mask[y0:y1, x0:x1].copy()
        doc.mask[y0:y1, x0:x1] = self.new

    def revert(self, doc: Document) -> None:
        x0, y0, x1, y1 = self.bbox
        doc.mask[y0:y1, x0:x1] = self.old


@dataclass
class SetMask(Change):
    """Replace the whole mask (clear, invert, load)."""

    new: np.ndarray
    old: np.ndarray | None = None
    label: str = "Set mask"

    def apply(self, doc: Document) -> None:
        self.old = doc.mask.copy()
        doc.mask = self.new.copy()

    def revert(self, doc: Document) -> None:
        doc.mask = self.old.copy()


@dataclass
class SetReference(Change):
    """Set (or clear, with None) the reference point; the document keeps at most one active reference."""

    point: tuple[int, int] | None
    old: list[tuple[int, int]] = field(default_factory=list)
    label: str = "Reference point"

    def apply(self, doc: Document) -> None:
        self.old = list(doc.references)
        doc.references = [] if self.point is None else [tuple(self.point)]

    def revert(self, doc: Document) -> None:
        doc.references = list(self.old)


@dataclass
class AddLayer(Change):
    """Insert a layer at ``index`` (None: on top)."""

    layer: Layer
    index: int | None = None
    label: str = "Add layer"

    def apply(self, doc: Document) -> None:
        doc.check_layer(self.layer)
        if self.index is None:
            self.index = len(doc.layers)
        doc.layers.insert(self.index, self.layer)

    def revert(self, doc: Document) -> None:
        doc.layers.pop(doc.layer_index(self.layer.id))


@dataclass
class AddEdit(Change):
    """A finished edit: its result layer on top and its provenance record.

    In a document with 16-bit layers, an 8-bit result layer gets 16-bit pixels: the 16-bit composite's where the
    edit left the (8-bit) composite it worked on unchanged — outside the mask's feather, bit for bit — and its
    own values times 257 elsewhere (:func:`~gencurve_desktop.document.deep.deepen`)."""

    layer: Layer
    record: EditRecord
    label: str = "Edit"

    def apply(self, doc: Document) -> None:
        doc.check_layer(self.layer)
        if self.layer.deep is None and doc.has_deep_layers:
            under = doc.composite(depth=16)  # over white, opaque: what the edit saw, at 16 bits
            under = np.concatenate([under, np.full(under.shape[:2] + (1,), 65535, np.uint16)], axis=2)
            self.layer.deep = deepen(self.layer.pixels, under)
        self.layer.edit_id = self.record.id
        doc.layers.append(self.layer)
        doc.edits.append(self.record)

    def revert(self, doc: Document) -> None:
        doc.layers.pop(doc.layer_index(self.layer.id))
        doc.edits.remove(self.record)


@dataclass
class RemoveLayer(Change):
    """Delete a layer (kept here for undo)."""

    layer_id: str
    layer: Layer | None = None
    index: int = 0
    label: str = "Delete layer"

    def apply(self, doc: Document) -> None:
        self.index = doc.layer_index(self.layer_id)
        self.layer = doc.layers.pop(self.index)

    def revert(self, doc: Document) -> None:
        doc.layers.insert(self.index, self.layer)


@dataclass
class MoveLayer(Change):
    """Move a layer to a new stack position (0 = bottom)."""

    layer_id: str
    to: int
    frm: int = 0
    old_parent: str | None = None
    label: str = "Move layer"

    def apply(self, doc: Document) -> None:
        """One step past a group's edge takes the layer into (or out of) that group, as in Krita: the layer joins
        the group of the layer it now sits on (at the bottom: of the layer above it), so groups stay contiguous."""
        self.frm = doc.layer_index(self.layer_id)
        layer = doc.layers.pop(self.frm)
        doc.layers.insert(self.to, layer)
        self.old_parent = layer.parent
        i = doc.layer_index(self.layer_id)
        neighbour = doc.layers[i - 1] if i > 0 else (doc.layers[i + 1] if i + 1 < len(doc.layers) else None)
        if neighbour is not None:
            layer.parent = neighbour.parent

    def revert(self, doc: Document) -> None:
        layer = doc.layers.pop(doc.layer_index(self.layer_id))
        layer.parent = self.old_parent
        doc.layers.insert(self.frm, layer)


@dataclass
class SetLayerProps(Change):
    """Rename, show/hide or change the opacity of a layer."""

    layer_id: str
    name: str | None = None
    visible: bool | None = None
    opacity: float | None = None
    old: tuple | None = None
    label: str = "Layer properties"

    def apply(self, doc: Document) -> None:
        layer = doc.layers[doc.layer_index(self.layer_id)]
        self.old = (layer.name, layer.visible, layer.opacity)
        if self.name is not None:
            layer.name = self.name
        if self.visible is not None:
            layer.visible = self.visible
        if self.opacity is not None:
            layer.opacity = min(1.0, max(0.0, float(self.opacity)))

    def revert(self, doc: Document) -> None:
        layer = doc.layers[doc.layer_index(self.layer_id)]
        layer.name, layer.visible, layer.opacity = self.old


@dataclass
class SetGroupProps(Change):
    """Rename, show/hide or change the opacity of a group."""

    group_id: str
    name: str | None = None
    visible: bool | None = None
    opacity: float | None = None
    old: tuple | None = None
    label: str = "Group properties"

    def apply(self, doc: Document) -> None:
        group = doc.groups[self.group_id]
        self.old = (group.name, group.visible, group.opacity)
        if self.name is not None:
            group.name = self.name
        if self.visible is not None:
            group.visible = self.visible
        if self.opacity is not None:
            group.opacity = min(1.0, max(0.0, float(self.opacity)))

    def revert(self, doc: Document) -> None:
        group = doc.groups[self.group_id]
        group.name, group.visible, group.opacity = self.old
