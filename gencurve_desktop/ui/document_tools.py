"""Smaller document commands: close, a new document from the clipboard, import a mask, clear the reference,
show or hide the mask overlay, export the saliency map. Each is one undo step where it changes the document."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QGuiApplication, QImage
from PySide6.QtWidgets import QFileDialog

from gencurve_desktop.document.changes import SetMask, SetReference
from gencurve_desktop.document.document import Document
from gencurve_desktop.document.images import load_mask, save_image_atomic
from gencurve_desktop.errors import BadInputError, GenCurveError
from gencurve_desktop.ui.document_session import IMAGE_FILTER
from gencurve_desktop.ui.qimage import heat_overlay


def qimage_to_rgb(image: QImage) -> np.ndarray:
    """A QImage as H x W x 3 uint8 (transparency over white, as the image reader does)."""
    rgba = image.convertToFormat(QImage.Format_RGBA8888)
    h, w = rgba.height(), rgba.width()
    buf = np.frombuffer(rgba.constBits(), np.uint8, count=rgba.bytesPerLine() * h).reshape(h, rgba.bytesPerLine())
    px = buf[:, : w * 4].reshape(h, w, 4).astype(np.float32)
    alpha = px[..., 3:4] / 255.0
    return np.round(px[..., :3] * alpha + 255.0 * (1 - alpha)).astype(np.uint8)


class DocumentTools:
    """The commands behind File > Close, File > New from Clipboard, Edit > Import Mask, Clear Reference,
    View > Show Mask and View > Export Saliency Map."""

    def __init__(self, window) -> None:
        self.w = window

    @property
    def session(self):
        return self.w.session

    def close_document(self) -> None:
        """Close the document (asking about unsaved changes); the window stays open."""
        self.session.confirm_discard(lambda: self.session.set_document(None))

    def new_from_clipboard(self) -> None:
        """A new document from the image on the clipboard (asking about unsaved changes first)."""
        image = QGuiApplication.clipboard().image()
        if image.isNull():
            self.w.show_error("Nothing to paste", "The clipboard holds no image.")
            return
        rgb = qimage_to_rgb(image)
        self.session.confirm_discard(lambda: self.session.set_document(Document.from_image(rgb)))

    def import_mask(self, path: str | None = None) -> bool:
        """Replace the mask by an image's white (>= 128) pixels; the image must be the document's size."""
        doc = self.w.doc
        if doc is None:
            return False
        if path is None:
            path, _ = QFileDialog.getOpenFileName(self.w, "Import mask", str(self.session.last_dir()), IMAGE_FILTER)
            if not path:
                return False
        try:
            mask = load_mask(path, doc.size)
        except GenCurveError as e:
            self.w.show_error("Cannot import the mask", str(e))
            return False
        if not mask.any():
            self.w.show_error("Cannot import the mask", f"{path}: no pixel is white (>= 128)")
            return False
        self.session.push(SetMask(mask, label="Import mask"))
        return True

    def clear_reference(self) -> None:
        if self.w.doc is not None and self.w.doc.references:
            self.session.push(SetReference(None, label="Clear reference point"))

    def toggle_mask(self) -> None:
        self.w.canvas.set_mask_visible(self.w.actionShowMask.isChecked())

    def export_saliency(self, path: str | None = None) -> bool:
        """Write the saliency map as the heat image shown on the canvas (PNG) or as 16-bit grey values (TIFF)."""
        if self.w.saliency is None:
            self.w.show_error("No saliency map", "Compute the map first (View > Saliency Map, M).")
            return False
        if path is None:
            start = self.session.last_dir() / f"{self.session.default_stem()}-saliency.png"
            path, _ = QFileDialog.getSaveFileName(
                self.w, "Export saliency map", str(start), "PNG (*.png);;TIFF (*.tif)"
            )
            if not path:
                return False
        try:
            save_image_atomic(saliency_pixels(self.w.saliency, path), path)
        except (GenCurveError, OSError) as e:
            self.w.show_error("Cannot export the saliency map", str(e))
            return False
        self.w.statusBar().showMessage(f"Saved the saliency map to {path}", 4000)
        return True


def saliency_pixels(values: np.ndarray, path: str) -> np.ndarray:
    """PNG: the heat colours of the overlay (RGB); TIFF: the values scaled to 0..65535 (16-bit grey)."""
    lower = str(path).lower()
    if lower.endswith((".tif", ".tiff")):
        lo, hi = float(values.min()), float(values.max())
        scaled = np.zeros_like(values) if hi <= lo else (values - lo) / (hi - lo)
        return np.round(scaled * 65535).astype(np.uint16)
    if not lower.endswith(".png"):
        raise BadInputError(f"{path}: export the saliency map as .png or .tif")
    return heat_overlay(values)[..., :3]

    def export_plot(self) -> None:
        """Curves ▸ Export Plot as PNG."""
        path, _ = QFileDialog.getSaveFileName(self.w, "Export plot", "curves.png", "PNG (*.png)")
        if path:
            self.w.curve_dock.export_png(path)

    def export_csv(self) -> None:
        """Curves ▸ Export Curves as CSV."""
        path, _ = QFileDialog.getSaveFileName(self.w, "Export curves", "curves.csv", "CSV (*.csv)")
        if path:
            try:
                self.w.curve_dock.export_csv(path)
            except (GenCurveError, OSError) as e:
                self.w.show_error("Cannot export the curves", str(e))
