"""Paste as a new layer, the Move tool (T) and Scale Layer (Ctrl+T), and a mask from a layer's opaque pixels: the
way an object gets onto the photo for the Blend task (paste, move and scale it into place, mask it, blend), as in
Krita (Ctrl+V pastes as a new layer, T moves it, Ctrl+T transforms it)."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QInputDialog

from gencurve_desktop.document.changes import AddLayer, SetMask
from gencurve_desktop.document.layer_transforms import MAX_SCALE, MIN_SCALE, TransformLayer, placed
from gencurve_desktop.document.layers import Layer
from gencurve_desktop.errors import GenCurveError


def qimage_to_rgba(image: QImage) -> np.ndarray:
    """A QImage as H x W x 4 uint8, straight alpha (transparency kept)."""
    rgba = image.convertToFormat(QImage.Format_RGBA8888)
    h, w = rgba.height(), rgba.width()
    buf = np.frombuffer(rgba.constBits(), np.uint8, count=rgba.bytesPerLine() * h).reshape(h, rgba.bytesPerLine())
    return buf[:, : w * 4].reshape(h, w, 4).copy()


class LayerMoves:
    """The commands behind Edit ▸ Paste as New Layer, Tools ▸ Move, Layer scale and Mask from Layer."""

    def __init__(self, window) -> None:
        self.w = window
        self.moving: str | None = None  # the id of the layer the Move tool is dragging

    def _selected_layer(self, what: str) -> Layer | None:
        doc, layer_id = self.w.doc, self.w.layers_dock.current_id()
        if doc is None or layer_id is None or layer_id in doc.groups:
            self.w.statusBar().showMessage(f"Select a layer in the Layers dock to {what} it", 5000)
            return None
        return doc.layers[doc.layer_index(layer_id)]

    def paste_as_layer(self, image: QImage | None = None) -> bool:
        """The clipboard's image as a new layer on top, centred (scaled down to fit when larger), selected, with
        the Move tool on; without a document, a new document from it."""
        image = QGuiApplication.clipboard().image() if image is None else image
        if image.isNull():
            self.w.show_error("Nothing to paste", "The clipboard holds no image.")
            return False
        if self.w.doc is None:
            self.w.tools.new_from_clipboard()
            return True
        try:
            pixels, factor = placed(qimage_to_rgba(image), self.w.doc.size)
        except (GenCurveError, MemoryError) as e:
            self.w.show_error("Cannot paste the image", str(e))
            return False
        layer = Layer("Pasted", pixels)
        self.w.session.push(AddLayer(layer, label="Paste as new layer"))
        self.w.layers_dock.select(layer.id)
        self.w.set_tool("move")
        scaled = "" if factor == 1.0 else f" (scaled to {factor * 100:.0f} % to fit)"
        self.w.statusBar().showMessage(
            f"Pasted as a new layer{scaled}: drag it with Move (T), scale it with Ctrl+T, mask it and run Blend", 10000
        )
        return True

    def start(self) -> None:
        """The Move tool was pressed on the canvas: float the selected layer over the others."""
        layer = self._selected_layer("move")
        if layer is None or not layer.visible:
            self.moving = None
            return
        doc = self.w.doc
        others = [x for x in doc.layers if x.id != layer.id]
        under = doc.composite(layers=others) if others else np.full((doc.height, doc.width, 3), 255, np.uint8)
        self.moving = layer.id
        self.w.canvas.float_layer(under, layer.pixels, layer.opacity)

    def finish(self, dx: int, dy: int) -> None:
        """The drag ended: move the layer's content by (dx, dy), one undo step (nothing for no move)."""
        layer_id, self.moving = self.moving, None
        if layer_id is not None and (dx or dy):
            self.w.session.push(TransformLayer(layer_id, dx=dx, dy=dy, label="Move layer"))
        else:
            self.w.refresh()

    def scale_layer(self, percent: float | None = None) -> bool:
        """Scale the selected layer's content about its centre (Ctrl+T asks for the percentage)."""
        layer = self._selected_layer("scale")
        if layer is None:
            return False
        if percent is None:
            percent, ok = QInputDialog.getDouble(
                self.w, "Scale layer", f"Scale {layer.name!r} to (%):", 100.0, MIN_SCALE * 100, MAX_SCALE * 100, 1
            )
            if not ok:
                return False
        if abs(percent - 100.0) < 1e-9:
            return False
        try:
            self.w.session.push(TransformLayer(layer.id, factor=percent / 100.0, label="Scale layer"))
        except GenCurveError as e:
            self.w.show_error("Cannot scale the layer", str(e))
            return False
        return True

    def mask_from_layer(self) -> bool:
        """The mask becomes the selected layer's opaque pixels (alpha ≥ 50 %): the pasted object, for Blend."""
        layer = self._selected_layer("make a mask from")
        if layer is None:
            return False
        mask = layer.pixels[..., 3] >= 128
        if not mask.any() or mask.all():
            self.w.statusBar().showMessage(f"{layer.name!r} has no transparent edge to make a mask from", 5000)
            return False
        self.w.session.push(SetMask(mask, label="Mask from layer"))
        return True
